using TorchSharp;
using ZipIt.Engine.Repair;
using static TorchSharp.torch;

namespace ZipIt.Tests.Repair;

/// <summary>
/// <see cref="UnitMoments"/> reads a module's output as a strided view with the channel axis moved
/// first, a block of units at a time: its statistics must be those of the units over every sample
/// of every batch, as if the batches were flattened, stacked and reduced in float64 at once.
/// </summary>
public sealed class UnitMomentsTests
{
    [Fact]
    public void A_strided_view_read_in_blocks_over_two_batches_gives_every_units_float64_mean_and_deviation()
    {
        using var scope = torch.NewDisposeScope();
        var generator = new torch.Generator(7);
        // Tokens last-axis channels, as a ViT's [B, T, C]; 64 units × 20,000 samples per batch is
        // more than one block, and an offset of 100 tests the deviations' cancellation.
        var first = torch.randn([4, 5000, 64], generator: generator) * 3 + 100;
        var second = torch.randn([2, 5000, 64], generator: generator) * 0.5 - 7;
        Assert.True(64L * 20000 > UnitMoments.BlockElements);

        using var moments = new UnitMoments(64);
        moments.Add(first.movedim([2], [0]));
        moments.Add(second.movedim([2], [0]));

        var all = torch.cat([first.reshape(-1, 64), second.reshape(-1, 64)]).to(ScalarType.Float64);
        var mean = all.mean([0]);
        var std = (all - mean).square().mean([0]).sqrt();
        using var got = moments.Mean();
        using var spread = moments.Std();
        Assert.Equal(30000, moments.Samples);
        Assert.True((got - mean).abs().max().item<double>() < 1e-9, "means differ");
        Assert.True(((spread - std).abs() / std).max().item<double>() < 1e-9, "deviations differ");
    }

    [Fact]
    public void Features_that_are_not_units_first_are_refused()
    {
        using var moments = new UnitMoments(8);
        using var wrong = torch.zeros(3, 8);
        Assert.Throws<ArgumentException>(() => moments.Add(wrong));
    }
}
