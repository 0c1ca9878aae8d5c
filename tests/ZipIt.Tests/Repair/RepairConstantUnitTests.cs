using TorchSharp;
using ZipIt.Engine.Repair;
using ZipIt.Tests.Vit;
using static TorchSharp.torch;
using static ZipIt.Tests.Repair.RepairTestSupport;

namespace ZipIt.Tests.Repair;

/// <summary>
/// A constant merged unit (zero spread) cannot be scaled to any spread: REPAIR keeps its scale
/// (a = 1) and shifts it to the target mean (<see cref="AffineCorrection"/>), so no division by a
/// vanishing standard deviation reaches the weights as NaN or infinity. A unit whose matched base
/// units are all constant has target spread 0 and stays constant at the target mean.
/// </summary>
public sealed class RepairConstantUnitTests
{
    [Fact]
    public void Constant_units_are_shifted_to_their_target_mean_and_nothing_becomes_nan()
    {
        var architecture = VitTestUtil.Architecture;
        var config = architecture.Configure("vit_pico_patch4_32");
        using var data = Images(8, 32, seed: 3);
        using var a = Model(architecture, config, "a.safetensors", seed: 5);
        using var b = Model(architecture, config, "b.safetensors", seed: 6);
        var matches = UnevenMatches(a.Graph, seed: 7);
        // Merged unit 5 of blocks.2's MLP: its members' fc1 rows zeroed in both base models, so
        // every one of them is its bias alone and the target spread is 0.
        var members = matches["blocks.2.mlp"].Unmerge.select(1, 5).nonzero().flatten().data<long>().ToArray();
        var hidden = a.Graph.Space("blocks.2.mlp").Width;
        using (no_grad())
            foreach (var member in members)
                (member < hidden ? a : b).Model.state_dict()["blocks.2.mlp.fc1.weight"][member % hidden].zero_();
        using var merged = Zip([a, b], matches);
        // Merged unit 3 of blocks.1's MLP: constant in the merged model only (its zipped row zeroed),
        // while its base units vary.
        using (no_grad()) merged.Model.state_dict()["blocks.1.mlp.fc1.weight"][3].zero_();
        var sites = RepairPlan.For(merged.Model, merged.Graph, null).Sites;
        var fc1 = sites.Where(s => s.Module is "blocks.1.mlp.fc1" or "blocks.2.mlp.fc1").ToList();
        var targets = Targets([a, b], fc1, matches, data);
        Assert.True(targets[fc1[0]].Std[3].item<double>() > 0.01, "blocks.1's unit 3 should vary in the base models");
        Assert.Equal(0.0, targets[fc1[1]].Std[5].item<double>());

        var report = RepairStage.Run([a, b], merged, matches, data, batchSize: 3);

        Assert.All(merged.Model.state_dict(), kv => Assert.True(kv.Value.isfinite().all().item<bool>(), $"{kv.Key} is not finite"));
        Assert.Equal(1, report.Sites.Single(s => s.Site == "blocks.1.mlp.fc1").ConstantUnits);
        Assert.Equal(1, report.Sites.Single(s => s.Site == "blocks.2.mlp.fc1").ConstantUnits);
        var after = Measure(merged.Model, fc1, data);
        foreach (var (site, unit) in new[] { (fc1[0], 3), (fc1[1], 5) })
        {
            Assert.Equal(0.0, after[site].Std[unit].item<double>(), 6);
            Assert.Equal(targets[site].Mean[unit].item<double>(), after[site].Mean[unit].item<double>(), 4);
        }
        // The other units of those layers still reach their targets.
        var others = ones(fc1[0].Units, dtype: ScalarType.Bool);
        others[3] = false;
        Assert.True((after[fc1[0]].Std - targets[fc1[0]].Std).abs().masked_select(others).max().item<double>() < 1e-4);
    }

    [Fact]
    public void A_correction_of_a_constant_unit_keeps_its_scale_and_a_zero_target_spread_gives_scale_zero()
    {
        using var mean = tensor(new[] { 2.0, 0.0, 1.0, -3.0 });
        using var std = tensor(new[] { 0.0, 0.0, 0.5, 1e-9 });
        using var targetMean = tensor(new[] { 1.0, 4.0, 0.0, 2.0 });
        using var targetStd = tensor(new[] { 0.3, 0.0, 0.0, 1.0 });

        using var correction = AffineCorrection.For(mean, std, targetMean, targetStd);

        // Unit 0 constant (σ = 0), unit 1 all zeros, unit 3 below the tolerance of its magnitude: a = 1.
        Assert.Equal(new[] { 1.0, 1.0, 0.0, 1.0 }, correction.Scale.data<double>().ToArray());
        Assert.Equal(new[] { -1.0, 4.0, 0.0, 5.0 }, correction.Shift.data<double>().ToArray());
        Assert.Equal(3, correction.ConstantUnits);
    }
}
