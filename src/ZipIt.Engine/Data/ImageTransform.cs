using TorchSharp;
using static TorchSharp.torch;

namespace ZipIt.Engine.Data;

/// <summary>
/// Bytes to model input, a whole batch at a time: scale to [0, 1], bring to
/// <see cref="Size"/>×<see cref="Size"/> by <see cref="Resize"/> (by default centred zero padding
/// when the image is smaller by an even margin, e.g. 28 → 32 for CIFAR-style ResNets, bilinear
/// resizing otherwise; or torchvision's resize-and-centre-crop), optionally augment (random crop
/// with zero padding, horizontal flip), normalise per channel, and bring the channels to
/// <see cref="Channels"/> (a grey channel repeated; colour made grey by ITU-R 601 luma, as PIL's
/// <c>convert("L")</c>). Padding happens before normalisation so that it looks like the images'
/// own black background.
/// </summary>
internal sealed record ImageTransform(int Size, int Channels, IReadOnlyList<double> Mean, IReadOnlyList<double> Std)
{
    public ResizeMode Resize { get; init; } = ResizeMode.Pad;

    public double CropPct { get; init; } = 0.875;

    public string Interpolation { get; init; } = "bilinear";

    /// <summary>Model inputs (float32 [B, Channels, Size, Size]) from uint8 images [B, C, H, W].</summary>
    public Tensor Apply(Tensor bytes, Augmentation? augmentation = null)
    {
        using var scope = NewDisposeScope();
        var x = bytes.to(ScalarType.Float32).div_(255);
        var (h, w) = (x.shape[2], x.shape[3]);
        if (h != Size || w != Size)
        {
            var (dh, dw) = (Size - h, Size - w);
            x = Resize switch
            {
                ResizeMode.Crop => CentreCrop(Resample(x, Shorter(h, w, (long)Math.Floor(Size / CropPct)))),
                ResizeMode.Pad when dh >= 0 && dw >= 0 && dh % 2 == 0 && dw % 2 == 0 => nn.functional.pad(x, [dw / 2, dw / 2, dh / 2, dh / 2]),
                _ => Resample(x, (Size, Size)),
            };
        }
        if (augmentation is { } a) x = a.Apply(x);
        var c = (int)x.shape[1];
        if (c == 3 && Channels == 1)
        {
            x = x.mul(torch.tensor(new[] { 0.299f, 0.587f, 0.114f }).view(1, 3, 1, 1)).sum(1, keepdim: true);
            c = 1;
        }
        // One value per image channel (a grey dataset's own statistics) normalises before the grey
        // channel is repeated; one per model channel after.
        var repeatFirst = c == 1 && Channels != 1 && Mean.Count == Channels;
        if (repeatFirst)
        {
            x = x.expand(-1, Channels, -1, -1).contiguous();
            c = Channels;
        }
        if (Mean.Count != c && Mean.Count != 1) throw new ArgumentException($"normalisation has {Mean.Count} channels, the images {c}");
        var mean = torch.tensor(Mean.Select(v => (float)v).ToArray()).view(1, Mean.Count, 1, 1);
        var std = torch.tensor(Std.Select(v => (float)v).ToArray()).view(1, Std.Count, 1, 1);
        x = x.sub(mean).div_(std);
        if (c != Channels)
        {
            if (c != 1) throw new ArgumentException($"cannot turn {c}-channel images into {Channels} channels");
            x = x.expand(-1, Channels, -1, -1).contiguous();
        }
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>The size with the shorter side <paramref name="target"/>, the aspect ratio kept (torchvision's <c>Resize(int)</c>).</summary>
    private static (long H, long W) Shorter(long h, long w, long target) =>
        h <= w ? (target, (long)(target * (double)w / h)) : ((long)(target * (double)h / w), target);

    private Tensor Resample(Tensor x, (long H, long W) size)
    {
        if (x.shape[2] == size.H && x.shape[3] == size.W) return x;
        var mode = Interpolation switch
        {
            "bicubic" => InterpolationMode.Bicubic,
            "nearest" => InterpolationMode.Nearest,
            _ => InterpolationMode.Bilinear,
        };
        // Antialiased when shrinking, as PIL and torchvision's Resize resample.
        var shrinking = size.H < x.shape[2] || size.W < x.shape[3];
        var y = mode == InterpolationMode.Nearest
            ? nn.functional.interpolate(x, [size.H, size.W], mode: mode)
            : nn.functional.interpolate(x, [size.H, size.W], mode: mode, align_corners: false, antialias: shrinking);
        // Bicubic overshoots; images stay in [0, 1] as PIL's 8-bit result does.
        return mode == InterpolationMode.Bicubic ? y.clamp_(0, 1) : y;
    }

    /// <summary>The centred <see cref="Size"/>×<see cref="Size"/> window, as torchvision's <c>CenterCrop</c> places it.</summary>
    private Tensor CentreCrop(Tensor x)
    {
        var (h, w) = (x.shape[2], x.shape[3]);
        if (h < Size || w < Size) return Resample(x, (Size, Size));
        var top = (long)Math.Round((h - Size) / 2.0, MidpointRounding.ToEven);
        var left = (long)Math.Round((w - Size) / 2.0, MidpointRounding.ToEven);
        return x.narrow(2, top, Size).narrow(3, left, Size);
    }

    /// <summary>Per-channel mean and standard deviation of uint8 images [N, C, H, W] in [0, 1] units, accumulated in float64.</summary>
    public static (double[] Mean, double[] Std) Statistics(Tensor bytes)
    {
        using var scope = NewDisposeScope();
        var c = (int)bytes.shape[1];
        var sum = torch.zeros(c, ScalarType.Float64);
        var squares = torch.zeros(c, ScalarType.Float64);
        const long chunk = 4096;
        for (long start = 0; start < bytes.shape[0]; start += chunk)
        {
            using var inner = NewDisposeScope();
            var x = bytes.narrow(0, start, Math.Min(chunk, bytes.shape[0] - start)).to(ScalarType.Float64).div_(255).transpose(0, 1).reshape(c, -1);
            sum.add_(x.sum(1));
            squares.add_(x.square().sum(1));
        }
        var n = (double)bytes.shape[0] * bytes.shape[2] * bytes.shape[3];
        var mean = sum.div(n);
        var std = squares.div(n).sub(mean.square()).clamp_min(1e-12).sqrt();
        return (mean.data<double>().ToArray(), std.data<double>().ToArray());
    }
}

/// <summary>
/// Training augmentation for a batch, drawn from a seeded generator: a random crop of the original
/// size from the image padded by <see cref="Padding"/> zeros on each side, and a horizontal flip
/// with probability ½ where <see cref="Flip"/> (not for digits, whose mirror images are other shapes).
/// Done with two gathers over the whole batch rather than per image.
/// </summary>
internal sealed record Augmentation(Generator Generator, int Padding = 4, bool Flip = true)
{
    public Tensor Apply(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
        if (Padding > 0)
        {
            var padded = nn.functional.pad(x, [Padding, Padding, Padding, Padding]);
            var dy = torch.randint(0, 2 * Padding + 1, [b], generator: Generator);
            var dx = torch.randint(0, 2 * Padding + 1, [b], generator: Generator);
            var rows = dy.unsqueeze(1).add(torch.arange(h)).view(b, 1, h, 1).expand(b, c, h, w + 2 * Padding);
            var cols = dx.unsqueeze(1).add(torch.arange(w)).view(b, 1, 1, w).expand(b, c, h, w);
            x = padded.gather(2, rows).gather(3, cols);
        }
        if (Flip)
        {
            var flip = torch.rand([b], generator: Generator).lt(0.5).view(b, 1, 1, 1);
            x = torch.where(flip, x.flip(3), x);
        }
        return x.MoveToOuterDisposeScope();
    }
}
