using TorchSharp;
using Xunit.Abstractions;
using ZipIt.Engine.Refit;
using ZipIt.Tests.Engine;
using ZipIt.Tests.ResNet;
using ZipIt.Tests.Vit;
using static TorchSharp.torch;
using static ZipIt.Tests.Refit.RefitTestSupport;

namespace ZipIt.Tests.Refit;

/// <summary>
/// A model merged with a permuted copy of itself by the true permutation is already exact: every
/// layer maps its merged inputs to its merged targets with the zip's weights, so a refit must leave
/// the function as it is (to float32 rounding), whichever variant, full or partial zip, ResNet or
/// ViT. A refit that formed its inputs or targets in the wrong layout, solved the wrong system or
/// wrote the weights back wrongly would move it.
/// </summary>
public sealed class RefitIdentityTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-5;

    [Theory]
    [InlineData("teacher")]
    [InlineData("sequential")]
    public void A_resnet_merged_with_its_permuted_copy_keeps_its_function(string name)
    {
        var variant = RefitOptions.ParseVariant(name, "variant");
        var architecture = ResNetTestUtil.Architecture;
        var config = architecture.Configure("resnet20");
        using var data = Images(24, 16, seed: 3);
        using var a = Model(architecture, config, "a.safetensors", seed: 21);
        // BatchNorm statistics that are those of A's own eval-mode activations on the calibration data, which
        // the sequential variant gives each BatchNorm after a refit layer from that layer's moments.
        SetSelfConsistentStatistics(a, data);
        using var b = Model(architecture, config, "b.safetensors", ZipIt.Testing.GraphPermutation.Apply(a.Model.state_dict(), a.Graph, seed: 9));
        using var merged = Zip([a, b], ZipperTests.TrueMatches(a.Graph, seed: 9));
        using var test = randn([4, 3, 16, 16], generator: new Generator(5));
        using var expected = Outputs(a, test);
        Assert.True(MaxAbsDiff(Outputs(merged, test), expected) < Tolerance, "the zip itself is not exact");

        var report = RefitStage.Run([a, b], merged, ZipperTests.TrueMatches(a.Graph, seed: 9), data, batchSize: 24, new RefitOptions(variant));

        var difference = MaxAbsDiff(Outputs(merged, test), expected);
        output.WriteLine($"{variant}: {report.Layers.Count} layers, max |refit − A| = {difference:E3}, passes {report.Passes}");
        Assert.Equal(22, report.Layers.Count); // 19 convs, 2 shortcut convs, the linear head
        Assert.Empty(report.Skipped);
        Assert.All(report.Layers, l => Assert.True(l.RelativeErrorBefore < 1e-9, $"{l.Layer}: the zip's weights miss the targets by {l.RelativeErrorBefore:E2}"));
        Assert.True(difference <= Tolerance, $"{variant}: the refit moved the function by {difference:E3}");
        Assert.Equal(variant == RefitVariant.Teacher ? 1 : 22, report.Passes);
    }

    [Fact]
    public void A_partial_zip_refits_its_trunk_and_leaves_every_head_as_it_is()
    {
        var architecture = ResNetTestUtil.Architecture;
        var config = architecture.Configure("resnet20");
        using var data = Images(24, 16, seed: 3);
        using var a = Model(architecture, config, "a.safetensors", seed: 21);
        using var b = Model(architecture, config, "b.safetensors", ZipIt.Testing.GraphPermutation.Apply(a.Model.state_dict(), a.Graph, seed: 4));
        var stop = a.Graph.Stages.ToList().FindIndex(s => s.StopLabel is not null) + 1; // layer2: ZipIt!13/20
        using var merged = Zip([a, b], ZipperTests.TrueMatches(a.Graph, seed: 4), stop);
        using var test = randn([4, 3, 16, 16], generator: new Generator(5));
        using var before = Outputs(merged, test);
        var heads = merged.Heads.Select(h => h.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone())).ToList();

        var report = RefitStage.Run([a, b], merged, ZipperTests.TrueMatches(a.Graph, seed: 4), data, batchSize: 12, new RefitOptions(RefitVariant.Teacher));

        Assert.All(report.Layers, l => Assert.InRange(a.Graph.StageOf(l.Layer + ".weight"), 0, stop));
        Assert.Equal(14, report.Layers.Count); // the stem, layer1 (6), layer2 (6 and its shortcut); not layer3 nor the head
        for (var h = 0; h < heads.Count; h++)
            foreach (var (k, v) in merged.Heads[h].state_dict())
                Assert.True(v.equal(heads[h][k]).all().item<bool>(), $"head {h}: {k} changed");
        var difference = MaxAbsDiff(Outputs(merged, test), before);
        Assert.True(difference <= Tolerance, $"the refit moved the partial zip's function by {difference:E3}");
    }

    [Theory]
    [InlineData("teacher")]
    [InlineData("sequential")]
    public void A_vit_merged_with_its_permuted_copy_keeps_its_function(string name)
    {
        var variant = RefitOptions.ParseVariant(name, "variant");
        // Fused qkv rows in two merge points (q and k share one, v has its own), token-major linear
        // inputs, a patch-embedding convolution with a bias, LayerScale on the stream.
        var architecture = VitTestUtil.Architecture;
        var config = architecture.Configure("vit_pico_patch4_32", new Dictionary<string, string> { ["layer_scale"] = "true" });
        using var data = Images(12, 32, seed: 3);
        using var a = Model(architecture, config, "a.safetensors", seed: 5);
        using var b = Model(architecture, config, "b.safetensors", ZipIt.Testing.GraphPermutation.Apply(a.Model.state_dict(), a.Graph, seed: 31));
        using var merged = Zip([a, b], ZipperTests.TrueMatches(a.Graph, seed: 31));
        using var test = randn([3, 3, 32, 32], generator: new Generator(6));
        using var expected = Outputs(a, test);

        var report = RefitStage.Run([a, b], merged, ZipperTests.TrueMatches(a.Graph, seed: 31), data, batchSize: 6, new RefitOptions(variant));

        var difference = MaxAbsDiff(Outputs(merged, test), expected);
        output.WriteLine($"{variant}: {report.Layers.Count} layers, max |refit − A| = {difference:E3}");
        Assert.Equal(1 + 4 * 3 + 1, report.Layers.Count); // patch embedding, qkv/proj/fc1/fc2 per block, head
        Assert.True(difference <= Tolerance, $"{variant}: the refit moved the ViT's function by {difference:E3}");
    }
}
