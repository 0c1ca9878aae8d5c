using TorchSharp;
using Xunit.Abstractions;
using ZipIt.Engine.Repair;
using ZipIt.Tests.Engine;
using ZipIt.Tests.ResNet;
using ZipIt.Tests.Vit;
using static TorchSharp.torch;
using static ZipIt.Tests.Repair.RepairTestSupport;

namespace ZipIt.Tests.Repair;

/// <summary>
/// A model merged with itself, or with a permuted copy of itself by the true permutation, is
/// already the base model: every merged unit has its base units' statistics, so REPAIR must leave
/// it as it is (every parameter and the function within 1e-5). A repair that measured the wrong
/// channels, combined the targets in the wrong layout or folded a correction into the wrong rows
/// would move it.
/// </summary>
public sealed class RepairIdentityTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-5;

    public static TheoryData<string> Merges => new() { "itself", "permuted copy" };

    [Theory]
    [MemberData(nameof(Merges))]
    public void A_vit_merged_with_itself_or_its_permuted_copy_is_left_as_it_is(string merge)
    {
        var architecture = VitTestUtil.Architecture;
        var config = architecture.Configure("vit_pico_patch4_32");
        using var data = Images(12, 32, seed: 3);
        using var a = Model(architecture, config, "a.safetensors", seed: 5);
        var permuted = merge == "itself" ? a.Model.state_dict() : ZipIt.Testing.GraphPermutation.Apply(a.Model.state_dict(), a.Graph, seed: 31);
        using var b = Model(architecture, config, "b.safetensors", permuted);
        var matches = merge == "itself" ? ZipperTests.IdentityMatches(a.Graph) : ZipperTests.TrueMatches(a.Graph, seed: 31);
        using var merged = Zip([a, b], matches);
        using var test = randn([3, 3, 32, 32], generator: new Generator(6));
        using var expected = Outputs(a, test);
        Assert.True(MaxAbsDiff(Outputs(merged, test), expected) < Tolerance, "the zip itself is not exact");
        var before = Snapshot(merged);

        var report = RepairStage.Run([a, b], merged, matches, data, batchSize: 5);

        var change = MaxChange(before, Snapshot(merged));
        var difference = MaxAbsDiff(Outputs(merged, test), expected);
        output.WriteLine($"{merge}: {report.Sites.Count} sites, {report.Units} units, {report.Passes} passes; max parameter change {change:E2}, max |repaired − A| {difference:E2}");
        // Per block norm1, q, k, v, norm2, fc1, attn.proj, fc2; the patch embedding and the final norm.
        Assert.Equal(3 * 8 + 2, report.Sites.Count);
        Assert.Equal(2 + 1 + 3 * 6 + 1, report.Passes); // two base models; the patch embedding, per block norm1, qkv, proj, norm2, fc1, fc2, the final norm
        Assert.All(report.Sites, s => Assert.InRange(s.StdRatio, 1 - 1e-4, 1 + 1e-4));
        Assert.True(change <= Tolerance, $"REPAIR changed a parameter by {change:E3}");
        Assert.True(difference <= Tolerance, $"REPAIR moved the function by {difference:E3}");
    }

    [Fact]
    public void A_groupnorm_resnet_merged_with_its_permuted_copy_is_left_as_it_is()
    {
        var architecture = ResNetTestUtil.Architecture;
        var config = architecture.Configure("resnet20", new Dictionary<string, string> { ["norm"] = "gn" });
        using var data = Images(8, 16, seed: 3);
        using var a = Model(architecture, config, "a.safetensors", seed: 21);
        using var b = Model(architecture, config, "b.safetensors", ZipIt.Testing.GraphPermutation.Apply(a.Model.state_dict(), a.Graph, seed: 9));
        var matches = ZipperTests.TrueMatches(a.Graph, seed: 9);
        using var merged = Zip([a, b], matches);
        using var test = randn([2, 3, 16, 16], generator: new Generator(5));
        using var expected = Outputs(a, test);
        var before = Snapshot(merged);

        var report = RepairStage.Run([a, b], merged, matches, data, batchSize: 4);

        var change = MaxChange(before, Snapshot(merged));
        var difference = MaxAbsDiff(Outputs(merged, test), expected);
        output.WriteLine($"{report.Sites.Count} GroupNorm sites; max parameter change {change:E2}, max |repaired − A| {difference:E2}");
        Assert.Equal(1 + 9 * 2 + 2, report.Sites.Count); // the stem's, two per block, two shortcuts'
        Assert.All(report.Sites, s => Assert.Equal(RepairSiteKind.Norm, s.Kind));
        Assert.True(change <= Tolerance, $"REPAIR changed a parameter by {change:E3}");
        Assert.True(difference <= Tolerance, $"REPAIR moved the function by {difference:E3}");
    }

    [Fact]
    public void A_batchnorm_resnet_has_nothing_to_repair_and_is_left_bit_for_bit()
    {
        // Every merged unit of a BatchNorm ResNet is normalised by a BatchNorm, which the merge resets.
        var architecture = ResNetTestUtil.Architecture;
        var config = architecture.Configure("resnet20");
        using var data = Images(4, 16, seed: 3);
        using var a = Model(architecture, config, "a.safetensors", seed: 21);
        using var b = Model(architecture, config, "b.safetensors", seed: 22);
        var matches = ZipperTests.IdentityMatches(a.Graph);
        using var merged = Zip([a, b], matches);
        var before = Snapshot(merged);

        var report = RepairStage.Run([a, b], merged, matches, data, batchSize: 4);

        Assert.Empty(report.Sites);
        Assert.Equal(0, report.Passes);
        Assert.Contains(report.Skipped, s => s.StartsWith("layer1.0.bn1: a BatchNorm", StringComparison.Ordinal));
        Assert.Empty(Changed(before, Snapshot(merged)));
    }
}
