using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Data;

/// <summary>
/// How a model wants its images: the input size and channels, how an image of another size is
/// brought to it, and the per-channel normalisation. A checkpoint records it under
/// <c>zipit.preprocess</c> (JSON, the property names below); a timm folder's <c>config.json</c>
/// states the same in its <c>pretrained_cfg</c>. Dataset specs and image folders are turned into
/// model inputs by it; a tensor file is taken as it is.
/// </summary>
/// <param name="Size">Height and width of the model's input, in pixels.</param>
/// <param name="Channels">The model's input channels: grey images are repeated to 3, colour images made grey for 1.</param>
/// <param name="Mean">Per-channel mean in [0, 1] units: one value (every channel) or one per input channel.</param>
/// <param name="Std">Per-channel standard deviation, as <paramref name="Mean"/>.</param>
internal sealed record Preprocessing(int Size, int Channels, IReadOnlyList<double> Mean, IReadOnlyList<double> Std)
{
    /// <summary>How an image of another size is brought to <see cref="Size"/>.</summary>
    public ResizeMode Resize { get; init; } = ResizeMode.Pad;

    /// <summary><see cref="ResizeMode.Crop"/>: the shorter side is resized to <c>Size / CropPct</c> before the centre crop (timm's <c>crop_pct</c>).</summary>
    public double CropPct { get; init; } = 0.875;

    /// <summary>The resampling of a resize: bilinear, bicubic or nearest.</summary>
    public string Interpolation { get; init; } = "bilinear";

    /// <summary>The metadata key a checkpoint records it under.</summary>
    public const string MetadataKey = MetadataKeys.Preprocess;

    private static readonly string[] Interpolations = ["bilinear", "bicubic", "nearest"];

    /// <summary>Named starting points for <c>--preprocess</c>: <c>imagenet</c> is torchvision's and timm's evaluation transform (resize 256, centre crop 224).</summary>
    public static IReadOnlyDictionary<string, Preprocessing> Presets { get; } = new Dictionary<string, Preprocessing>(StringComparer.OrdinalIgnoreCase)
    {
        ["imagenet"] = new(224, 3, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]) { Resize = ResizeMode.Crop, CropPct = 0.875 },
        ["cifar10"] = new(32, 3, [0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616]),
    };

    /// <summary>The keys of <see cref="Apply"/>, as <c>--preprocess</c> takes them.</summary>
    public static IReadOnlyList<string> Keys { get; } = ["size", "channels", "mean", "std", "resize", "crop-pct", "interpolation"];

    /// <summary>The transform that turns uint8 images into this model's inputs.</summary>
    public ImageTransform Transform() => new(Size, Channels, Mean, Std) { Resize = Resize, CropPct = CropPct, Interpolation = Interpolation };

    /// <summary>Exit 3 naming <paramref name="source"/> unless every field is usable.</summary>
    public Preprocessing Validate(string source)
    {
        string? problem =
            Size is < 1 or > 4096 ? $"size must be between 1 and 4096 pixels, got {Size}"
            : Channels is not (1 or 3) ? $"channels must be 1 or 3, got {Channels}"
            : Mean.Count != 1 && Mean.Count != Channels ? $"mean has {Mean.Count} values; 1 or {Channels} (one per channel) are needed"
            : Std.Count != 1 && Std.Count != Channels ? $"std has {Std.Count} values; 1 or {Channels} (one per channel) are needed"
            : Mean.Any(v => !double.IsFinite(v)) ? "mean holds a value that is not a finite number"
            : Std.Any(v => !double.IsFinite(v) || v <= 0) ? "std must be positive finite numbers"
            : CropPct is not (> 0 and <= 1) ? $"crop-pct must be in (0, 1], got {Format(CropPct)}"
            : !Interpolations.Contains(Interpolation) ? $"interpolation must be {string.Join(", ", Interpolations)}; got '{Interpolation}'"
            : null;
        return problem is null ? this : throw ZipItException.Input($"{source}: preprocessing: {problem}");
    }

    /// <summary>
    /// This preprocessing with <paramref name="overrides"/> (<c>KEY=VALUE</c>; lists comma-separated)
    /// applied; a first item naming a preset (<c>imagenet</c>) starts from it instead. Exit 2 naming
    /// <paramref name="option"/> for an unknown key or a bad value.
    /// </summary>
    public static Preprocessing Apply(Preprocessing? start, IReadOnlyList<string> overrides, string option)
    {
        var p = start;
        foreach (var item in overrides)
        {
            var eq = item.IndexOf('=');
            if (eq < 0)
            {
                if (Presets.TryGetValue(item, out var preset)) { p = preset; continue; }
                throw ZipItException.Usage($"{option} {item}: neither KEY=VALUE ({string.Join(", ", Keys)}) nor a preset ({string.Join(", ", Presets.Keys)})");
            }
            var (key, value) = (item[..eq].Trim().ToLowerInvariant(), item[(eq + 1)..].Trim());
            p ??= new Preprocessing(0, 3, [0.0], [1.0]);
            p = key switch
            {
                "size" => p with { Size = Integer(option, key, value) },
                "channels" => p with { Channels = Integer(option, key, value) },
                "mean" => p with { Mean = Numbers(option, key, value) },
                "std" => p with { Std = Numbers(option, key, value) },
                "resize" => p with { Resize = ParseResize(value) ?? throw ZipItException.Usage($"{option} resize={value}: expected pad, resize or crop") },
                "crop-pct" or "crop_pct" => p with { CropPct = Numbers(option, key, value) is [var c] ? c : throw ZipItException.Usage($"{option} {key}={value}: one number is needed") },
                "interpolation" => p with { Interpolation = value.ToLowerInvariant() },
                _ => throw ZipItException.Usage($"{option} {item}: unknown key '{key}' (keys: {string.Join(", ", Keys)}; presets: {string.Join(", ", Presets.Keys)})"),
            };
        }
        if (p is null) throw ZipItException.Usage($"{option}: nothing given");
        if (p.Size < 1) throw ZipItException.Usage($"{option}: size=N is needed (the model's input size in pixels)");
        try
        {
            return p.Validate(option);
        }
        catch (ZipItException e)
        {
            throw ZipItException.Usage(e.Message);
        }
    }

    private static int Integer(string option, string key, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v
            : throw ZipItException.Usage($"{option} {key}={value}: a whole number is needed");

    private static double[] Numbers(string option, string key, string value)
    {
        var parts = value.Split(',', StringSplitOptions.TrimEntries);
        var numbers = new double[parts.Length];
        for (var i = 0; i < parts.Length; i++)
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out numbers[i]))
                throw ZipItException.Usage($"{option} {key}={value}: '{parts[i]}' is not a number");
        return numbers;
    }

    public static ResizeMode? ParseResize(string text) => text.ToLowerInvariant() switch
    {
        "pad" => ResizeMode.Pad,
        "resize" => ResizeMode.Resize,
        "crop" => ResizeMode.Crop,
        _ => null,
    };

    private static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>One line for logs and cards: <c>32×32, 3 channels, pad, mean 0.286, std 0.353</c>.</summary>
    public override string ToString() =>
        $"{Size}×{Size}, {Channels} channel{(Channels == 1 ? "" : "s")}, {Describe()}, mean {string.Join("/", Mean.Select(v => v.ToString("0.####", CultureInfo.InvariantCulture)))}, " +
        $"std {string.Join("/", Std.Select(v => v.ToString("0.####", CultureInfo.InvariantCulture)))}";

    private string Describe() => Resize switch
    {
        ResizeMode.Crop => $"resize {Interpolation} to {(int)Math.Floor(Size / CropPct)} and centre crop",
        ResizeMode.Resize => $"resize {Interpolation}",
        _ => "pad (resize when not an even margin)",
    };

    /// <summary>The JSON a checkpoint records (<c>zipit.preprocess</c>).</summary>
    public string ToJson() => JsonSerializer.Serialize(new Stored(Size, Channels, Mean, Std, Resize.ToString().ToLowerInvariant(),
        Resize == ResizeMode.Crop ? CropPct : null, Resize == ResizeMode.Pad ? null : Interpolation), StoredOptions);

    /// <summary>Reads <see cref="ToJson"/>'s form; exit 3 naming <paramref name="source"/> when it is not.</summary>
    public static Preprocessing FromJson(string json, string source)
    {
        Stored? stored;
        try
        {
            stored = JsonSerializer.Deserialize<Stored>(json, StoredOptions);
        }
        catch (JsonException e)
        {
            throw ZipItException.Input($"{source}: {MetadataKey} is not valid preprocessing JSON ({Messages.OneLine(e.Message)})", e);
        }
        if (stored is null || stored.Mean is null || stored.Std is null)
            throw ZipItException.Input($"{source}: {MetadataKey} needs size, channels, mean and std");
        return new Preprocessing(stored.Size, stored.Channels, stored.Mean, stored.Std)
        {
            Resize = ParseResize(stored.Resize ?? "pad") ?? throw ZipItException.Input($"{source}: {MetadataKey}: resize must be pad, resize or crop, got '{stored.Resize}'"),
            CropPct = stored.CropPct ?? 0.875,
            Interpolation = stored.Interpolation ?? "bilinear",
        }.Validate(source);
    }

    /// <summary>
    /// A timm <c>config.json</c>'s <c>pretrained_cfg</c> (<c>input_size</c> [C, H, W], <c>mean</c>,
    /// <c>std</c>, <c>interpolation</c>, <c>crop_pct</c>; also read at the top level), or null when it
    /// states no input size. timm evaluates with a resize to <c>H / crop_pct</c> and a centre crop.
    /// </summary>
    public static Preprocessing? FromTimmConfig(JsonElement root, string source)
    {
        var cfg = root.TryGetProperty("pretrained_cfg", out var p) && p.ValueKind == JsonValueKind.Object ? p : root;
        if (!cfg.TryGetProperty("input_size", out var input) || input.ValueKind != JsonValueKind.Array || input.GetArrayLength() != 3) return null;
        try
        {
            var size = input.EnumerateArray().Select(e => e.GetInt32()).ToArray();
            if (size[1] != size[2]) throw ZipItException.Input($"{source}: input_size {size[1]}×{size[2]} is not square; pass --preprocess size=N");
            double[] List(string name, double[] fallback) =>
                cfg.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array ? v.EnumerateArray().Select(e => e.GetDouble()).ToArray() : fallback;
            var crop = cfg.TryGetProperty("crop_pct", out var c) && c.ValueKind == JsonValueKind.Number ? c.GetDouble() : 0.875;
            var interpolation = cfg.TryGetProperty("interpolation", out var i) && i.ValueKind == JsonValueKind.String ? i.GetString()! : "bicubic";
            return new Preprocessing(size[1], size[0], List("mean", [0.485, 0.456, 0.406]), List("std", [0.229, 0.224, 0.225]))
            {
                Resize = ResizeMode.Crop,
                CropPct = crop,
                Interpolation = interpolation,
            }.Validate(source);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw ZipItException.Input($"{source}: pretrained_cfg holds a value of the wrong type ({Messages.OneLine(e.Message)})", e);
        }
    }

    /// <summary>Whether two models take their images the same way (values compared to 1e-6).</summary>
    public bool SameAs(Preprocessing other)
    {
        static bool Close(IReadOnlyList<double> a, IReadOnlyList<double> b) => a.Count == b.Count && a.Zip(b).All(x => Math.Abs(x.First - x.Second) <= 1e-6);
        return Size == other.Size && Channels == other.Channels && Close(Mean, other.Mean) && Close(Std, other.Std) && Resize == other.Resize
            && (Resize != ResizeMode.Crop || Math.Abs(CropPct - other.CropPct) <= 1e-6) && (Resize == ResizeMode.Pad || Interpolation == other.Interpolation);
    }

    private static readonly JsonSerializerOptions StoredOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
        NumberHandling = JsonNumberHandling.Strict,
    };

    private sealed record Stored(int Size, int Channels, IReadOnlyList<double>? Mean, IReadOnlyList<double>? Std, string? Resize, double? CropPct, string? Interpolation);
}

/// <summary>How an image of another size is brought to a model's input size.</summary>
internal enum ResizeMode
{
    /// <summary>Centred zero padding when smaller by an even margin (28 → 32), a resize otherwise: how zipit trains.</summary>
    Pad,
    /// <summary>A resize to the size, whatever the aspect ratio.</summary>
    Resize,
    /// <summary>The shorter side resized to <c>size / crop_pct</c>, then a centre crop: torchvision's and timm's evaluation transform.</summary>
    Crop,
}
