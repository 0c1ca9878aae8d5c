using TorchSharp;
using Xunit.Abstractions;
using ZipIt.Engine.Repair;
using ZipIt.Tests.ResNet;
using ZipIt.Tests.Vit;
using static TorchSharp.torch;
using static ZipIt.Tests.Repair.RepairTestSupport;

namespace ZipIt.Tests.Repair;

/// <summary>
/// After REPAIR every corrected unit has, on the calibration images, the target mean and standard
/// deviation: its matched base units' statistics combined by the merge matrix. Measured here
/// independently of the stage (every output kept and reduced at once in float64; the targets from
/// the base models' own measured statistics), on merges of two independent models by matches that
/// are no permutation (a three-member unit with a same-model pair, a singleton), so the merged
/// statistics start far from the targets. The sequential order matters: had a site been measured
/// before the sites upstream of it were corrected, its correction would be stale afterwards.
/// </summary>
public sealed class RepairStatisticsTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;

    [Fact]
    public void Every_corrected_vit_unit_has_its_target_mean_and_std()
    {
        var architecture = VitTestUtil.Architecture;
        var config = architecture.Configure("vit_pico_patch4_32");
        using var data = Images(10, 32, seed: 3);
        using var a = Model(architecture, config, "a.safetensors", seed: 5);
        using var b = Model(architecture, config, "b.safetensors", seed: 6);
        var matches = UnevenMatches(a.Graph, seed: 7);
        using var merged = Zip([a, b], matches);

        AssertAtTargets(a, b, merged, matches, data, batchSize: 4, stop: null);
    }

    [Fact]
    public void A_partial_vit_zip_has_its_trunk_units_at_their_targets_and_its_heads_untouched()
    {
        var architecture = VitTestUtil.Architecture;
        var config = architecture.Configure("vit_pico_patch4_32");
        using var data = Images(10, 32, seed: 3);
        using var a = Model(architecture, config, "a.safetensors", seed: 5);
        using var b = Model(architecture, config, "b.safetensors", seed: 6);
        var matches = UnevenMatches(a.Graph, seed: 7);
        var stop = a.Graph.Stages.ToList().FindIndex(s => s.Name == "blocks.0");
        using var merged = Zip([a, b], matches, stop);
        var heads = merged.Heads.Select(h => h.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone())).ToList();

        var sites = AssertAtTargets(a, b, merged, matches, data, batchSize: 10, stop);

        Assert.All(sites, s => Assert.InRange(s.Stage, 0, stop));
        Assert.Equal(1 + 8, sites.Count); // the patch embedding; blocks.0's norm1, q, k, v, proj, norm2, fc1, fc2
        for (var h = 0; h < heads.Count; h++)
            foreach (var (k, v) in merged.Heads[h].state_dict())
                Assert.True(v.equal(heads[h][k]).all().item<bool>(), $"head {h}: {k} changed");
    }

    [Fact]
    public void Every_corrected_groupnorm_resnet_unit_has_its_target_mean_and_std()
    {
        var architecture = ResNetTestUtil.Architecture;
        var config = architecture.Configure("resnet20", new Dictionary<string, string> { ["norm"] = "gn" });
        using var data = Images(6, 16, seed: 3);
        using var a = Model(architecture, config, "a.safetensors", seed: 21);
        using var b = Model(architecture, config, "b.safetensors", seed: 22);
        var matches = UnevenMatches(a.Graph, seed: 8);
        using var merged = Zip([a, b], matches);

        AssertAtTargets(a, b, merged, matches, data, batchSize: 4, stop: null);
    }

    private IReadOnlyList<RepairSite> AssertAtTargets(ZipIt.Engine.Models.LoadedModel a, ZipIt.Engine.Models.LoadedModel b, ZipIt.Engine.Models.LoadedModel merged,
        IReadOnlyDictionary<string, MatchResult> matches, ZipIt.Engine.Data.TensorDataset data, int batchSize, int? stop)
    {
        var sites = RepairPlan.For(merged.Model, merged.Graph, stop).Sites;
        var targets = Targets([a, b], sites, matches, data);
        var before = Measure(merged.Model, sites, data);
        var worstBefore = sites.Max(s => Deviation(before[s], targets[s]));

        var report = RepairStage.Run([a, b], merged, matches, data, batchSize);

        var after = Measure(merged.Model, sites, data);
        Assert.Equal(sites.Count, report.Sites.Count);
        foreach (var site in sites)
        {
            var deviation = Deviation(after[site], targets[site]);
            Assert.True(deviation <= Tolerance, $"{site}: mean or std {deviation:E2} from its target after REPAIR");
        }
        var worstAfter = sites.Max(s => Deviation(after[s], targets[s]));
        output.WriteLine($"{sites.Count} sites, {report.Units} units: worst deviation from the targets {worstBefore:E2} before, {worstAfter:E2} after");
        Assert.True(worstBefore > 1e-2, $"the merge was already at its targets ({worstBefore:E2}): the test proves nothing");
        return sites;
    }

    /// <summary>The largest difference of any unit's mean or std from its target, relative to the target's scale where that exceeds 1.</summary>
    private static double Deviation((Tensor Mean, Tensor Std) measured, (Tensor Mean, Tensor Std) target)
    {
        using var scale = (target.Mean.abs() + target.Std).clamp_min(1);
        using var mean = (measured.Mean - target.Mean).abs() / scale;
        using var std = (measured.Std - target.Std).abs() / scale;
        return Math.Max(mean.max().item<double>(), std.max().item<double>());
    }
}
