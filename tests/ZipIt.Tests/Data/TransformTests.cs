using TorchSharp;
using ZipIt.Engine.Data;
using static TorchSharp.torch;
using static ZipIt.Tests.Data.DataFiles;

namespace ZipIt.Tests.Data;

public sealed class TransformTests
{
    [Fact]
    public void A_28_pixel_grey_image_is_padded_to_the_centre_of_32_normalised_and_repeated_to_3_channels()
    {
        using var scope = NewDisposeScope();
        var bytes = torch.full([2, 1, 28, 28], 255, ScalarType.Byte);
        bytes[0, 0, 0, 0] = torch.tensor((byte)0);
        bytes[1, 0, 27, 27] = torch.tensor((byte)51);
        var x = new ImageTransform(32, 3, [0.5], [0.25]).Apply(bytes);

        Assert.Equal([2L, 3, 32, 32], x.shape);
        Assert.Equal(ScalarType.Float32, x.dtype);
        // Padding is black: (0 - 0.5) / 0.25 = -2; white is (1 - 0.5) / 0.25 = 2.
        foreach (var strip in new[] { x[.., .., 0..2], x[.., .., 30..32], x[.., .., .., 0..2], x[.., .., .., 30..32] })
            Assert.True(strip.eq(-2).all().item<bool>());
        Assert.True(x[.., .., 2..30, 2..30].gt(-2).sum().item<long>() == 2 * 3 * 28 * 28 - 3);
        Assert.Equal(2f, x[0, 0, 2, 3].item<float>(), 5);
        Assert.Equal(2f, x[1, 2, 29, 28].item<float>(), 5);
        // The first image's top-left pixel lands at (2, 2), the second's bottom-right at (29, 29).
        Assert.Equal(-2f, x[0, 1, 2, 2].item<float>(), 5);
        Assert.Equal((0.2f - 0.5f) / 0.25f, x[1, 0, 29, 29].item<float>(), 5);
        // Grey repeated: the three channels are equal.
        Assert.True(Same(x[.., 0], x[.., 1]) && Same(x[.., 0], x[.., 2]));
    }

    [Fact]
    public void Colour_images_are_normalised_per_channel_with_the_given_statistics()
    {
        using var scope = NewDisposeScope();
        var bytes = torch.zeros([1, 3, 32, 32], ScalarType.Byte);
        bytes[0, 0] = torch.tensor((byte)255);
        bytes[0, 1] = torch.tensor((byte)102);
        var x = new ImageTransform(32, 3, [0.5, 0.4, 0.1], [0.5, 0.2, 0.05]).Apply(bytes);
        Assert.Equal([1L, 3, 32, 32], x.shape);
        Assert.True(x[0, 0].eq(1).all().item<bool>());
        Assert.True(x[0, 1].sub(0).abs().lt(1e-5).all().item<bool>());
        Assert.True(x[0, 2].sub(-2).abs().lt(1e-5).all().item<bool>());
    }

    [Fact]
    public void Statistics_are_the_per_channel_mean_and_population_std_in_unit_range()
    {
        using var scope = NewDisposeScope();
        var bytes = torch.tensor(new byte[] { 0, 255, 0, 255, 51, 51, 51, 51 }, [1, 2, 2, 2]);
        var (mean, std) = ImageTransform.Statistics(bytes);
        Assert.Equal([0.5, 0.2], mean.Select(m => Math.Round(m, 9)));
        Assert.Equal(0.5, std[0], 9);
        Assert.Equal(0, std[1], 5);
    }

    private static Tensor Batch(int b, int c, int h, int w) =>
        torch.arange(b * c * h * w, ScalarType.Int64).remainder(251).add(1).to(ScalarType.Float32).view(b, c, h, w);

    [Fact]
    public void The_same_seed_gives_the_same_augmentation_and_another_seed_another()
    {
        using var scope = NewDisposeScope();
        var x = Batch(16, 3, 8, 8);
        var a = new Augmentation(new Generator(7)).Apply(x);
        var b = new Augmentation(new Generator(7)).Apply(x);
        var c = new Augmentation(new Generator(8)).Apply(x);
        Assert.Equal(x.shape, a.shape);
        Assert.True(Same(a, b));
        Assert.False(Same(a, c));
    }

    [Fact]
    public void Crops_are_shifted_copies_of_the_zero_padded_image()
    {
        using var scope = NewDisposeScope();
        const int pad = 2;
        var x = Batch(12, 2, 6, 5);
        var y = new Augmentation(new Generator(3), Padding: pad, Flip: false).Apply(x);
        var padded = nn.functional.pad(x, [pad, pad, pad, pad]);
        var shifts = new HashSet<(int, int)>();
        for (var n = 0; n < 12; n++)
        {
            var found = new List<(int, int)>();
            for (var dy = 0; dy <= 2 * pad; dy++)
                for (var dx = 0; dx <= 2 * pad; dx++)
                    if (Same(padded[n, .., dy..(dy + 6), dx..(dx + 5)], y[n])) found.Add((dy, dx));
            Assert.Single(found);
            shifts.Add(found[0]);
        }
        Assert.True(shifts.Count > 1, "every image got the same crop");
    }

    [Fact]
    public void Images_are_flipped_only_when_flipping_is_enabled()
    {
        using var scope = NewDisposeScope();
        var x = Batch(64, 1, 4, 4);
        Assert.True(Same(new Augmentation(new Generator(1), Padding: 0, Flip: false).Apply(x), x));

        var y = new Augmentation(new Generator(1), Padding: 0, Flip: true).Apply(x);
        var (same, flipped) = (0, 0);
        for (var n = 0; n < 64; n++)
        {
            if (Same(y[n], x[n])) same++;
            else if (Same(y[n], x[n].flip(2))) flipped++;
        }
        Assert.Equal(64, same + flipped);
        Assert.InRange(flipped, 16, 48);
    }
}
