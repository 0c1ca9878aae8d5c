using ZipIt.Engine.Repair;
using ZipIt.Tests.Vit;
using static ZipIt.Tests.Repair.RepairTestSupport;

namespace ZipIt.Tests.Repair;

/// <summary>The same merge repaired on the same images gives the same bytes: statistics are summed in one order, corrections computed in float64.</summary>
public sealed class RepairDeterminismTests
{
    [Fact]
    public void Repairing_the_same_merge_twice_gives_identical_weights()
    {
        var architecture = VitTestUtil.Architecture;
        var config = architecture.Configure("vit_pico_patch4_32");
        using var data = Images(10, 32, seed: 3);
        using var a = Model(architecture, config, "a.safetensors", seed: 5);
        using var b = Model(architecture, config, "b.safetensors", seed: 6);
        var matches = UnevenMatches(a.Graph, seed: 7);
        using var first = Zip([a, b], matches);
        using var second = Zip([a, b], matches);
        var zipped = Snapshot(first);

        RepairStage.Run([a, b], first, matches, data, batchSize: 3);
        RepairStage.Run([a, b], second, matches, data, batchSize: 3);

        var once = Snapshot(first);
        Assert.NotEmpty(Changed(zipped, once));
        Assert.Empty(Changed(once, Snapshot(second)));
    }
}
