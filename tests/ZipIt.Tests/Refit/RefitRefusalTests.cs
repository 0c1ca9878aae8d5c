using TorchSharp;
using ZipIt.Engine.Core;
using ZipIt.Engine.Refit;
using ZipIt.Tests.Engine;
using ZipIt.Tests.ResNet;
using static TorchSharp.torch;
using static ZipIt.Tests.Refit.RefitTestSupport;

namespace ZipIt.Tests.Refit;

/// <summary>
/// What a refit refuses, each in one line with its exit code, and that a refused, failed or
/// cancelled refit leaves the merged model exactly as it was.
/// </summary>
public sealed class RefitRefusalTests
{
    private static readonly IArchitecture Architecture = ResNetTestUtil.Architecture;

    [Fact]
    public void A_merged_model_of_another_width_does_not_fit_the_base_models()
    {
        using var data = Images(4, 16, seed: 3);
        using var a = Model(Architecture, Architecture.Configure("resnet20"), "a.safetensors", seed: 1);
        using var b = Model(Architecture, Architecture.Configure("resnet20"), "b.safetensors", seed: 2);
        var wide = Architecture.Configure("resnet20", new Dictionary<string, string> { ["width"] = "2" });
        using var wa = Model(Architecture, wide, "wa.safetensors", seed: 1);
        using var wb = Model(Architecture, wide, "wb.safetensors", seed: 2);
        using var merged = Zip([wa, wb], ZipperTests.IdentityMatches(wa.Graph));
        var refusal = Assert.Throws<ZipItException>(() => RefitStage.Run([a, b], merged, ZipperTests.IdentityMatches(a.Graph), data, 4, new RefitOptions(RefitVariant.Teacher)));
        Assert.Equal(ExitCode.Input, refusal.Code);
        Assert.Contains("merged.safetensors is resnet/resnet20", refusal.Message);
        Assert.Contains("width=2", refusal.Message);
        Assert.DoesNotContain('\n', refusal.Message);
    }

    [Fact]
    public void A_partial_zip_needs_one_base_model_per_head_and_matches_need_every_point()
    {
        var config = Architecture.Configure("resnet20");
        using var data = Images(4, 16, seed: 3);
        using var a = Model(Architecture, config, "a.safetensors", seed: 1);
        using var b = Model(Architecture, config, "b.safetensors", seed: 2);
        using var c = Model(Architecture, config, "c.safetensors", seed: 3);
        var matches = ZipperTests.IdentityMatches(a.Graph);
        using var partial = Zip([a, b], matches, stop: 1);
        var heads = Assert.Throws<ZipItException>(() => RefitStage.Run([a, b, c], partial, matches, data, 4, new RefitOptions(RefitVariant.Teacher)));
        Assert.Equal(ExitCode.Input, heads.Code);
        Assert.Contains("has 2 heads", heads.Message);

        using var full = Zip([a, b], matches);
        var missing = new Dictionary<string, MatchResult>(matches);
        missing.Remove("layer2");
        var uncovered = Assert.Throws<ZipItException>(() => RefitStage.Run([a, b], full, missing, data, 4, new RefitOptions(RefitVariant.Teacher)));
        Assert.Contains("'layer2'", uncovered.Message);
        var threeModels = new Dictionary<string, MatchResult>(matches) { ["layer2"] = new MatchResult(zeros(32, 96), zeros(96, 32)) };
        var shape = Assert.Throws<ZipItException>(() => RefitStage.Run([a, b], full, threeModels, data, 4, new RefitOptions(RefitVariant.Teacher)));
        Assert.Contains("need [32,64]", shape.Message);
    }

    [Fact]
    public void Too_few_images_for_a_layers_width_are_refused_without_the_ridge_and_the_model_is_left_as_it_was()
    {
        // One 16×16 image: layer3's convolutions see 4×4 = 16 positions for 64·3·3 = 576 weights each.
        var config = Architecture.Configure("resnet20");
        using var data = Images(1, 16, seed: 3);
        using var a = Model(Architecture, config, "a.safetensors", seed: 1);
        using var b = Model(Architecture, config, "b.safetensors", seed: 2);
        var matches = ZipperTests.IdentityMatches(a.Graph);
        using var merged = Zip([a, b], matches);
        var before = Snapshot(merged);
        foreach (var variant in new[] { RefitVariant.Teacher, RefitVariant.Sequential })
        {
            var refusal = Assert.Throws<ZipItException>(() => RefitStage.Run([a, b], merged, matches, data, 1, new RefitOptions(variant, Ridge: 0)));
            Assert.Equal(ExitCode.Input, refusal.Code);
            Assert.Contains("fewer samples than features", refusal.Message);
            Assert.DoesNotContain('\n', refusal.Message);
            Assert.Empty(Changed(before, Snapshot(merged)));
        }
        // The default ridge solves the same: finite weights, nothing NaN.
        var report = RefitStage.Run([a, b], merged, matches, data, 1, new RefitOptions(RefitVariant.Teacher));
        Assert.Contains(report.Layers, l => l.Samples < l.Features);
        Assert.All(merged.Model.parameters(), p => Assert.True(p.isfinite().all().item<bool>()));
    }

    [Theory]
    [InlineData("teacher")]
    [InlineData("sequential")]
    public void Cancelling_between_two_layers_solves_leaves_the_model_as_it_was(string name)
    {
        var variant = RefitOptions.ParseVariant(name, "variant");
        var config = Architecture.Configure("resnet20");
        using var data = Images(8, 16, seed: 3);
        using var a = Model(Architecture, config, "a.safetensors", seed: 1);
        using var b = Model(Architecture, config, "b.safetensors", seed: 2);
        var matches = ZipperTests.IdentityMatches(a.Graph);
        using var merged = Zip([a, b], matches);
        var before = Snapshot(merged);
        using var cancellation = new CancellationTokenSource();
        var solved = 0;
        Assert.ThrowsAny<OperationCanceledException>(() => RefitStage.Run([a, b], merged, matches, data, 4, new RefitOptions(variant), cancellation.Token,
            solved: _ =>
            {
                // Three layers in: the sequential variant has written them into the model by then.
                if (++solved == 3) cancellation.Cancel();
            }));
        Assert.Equal(3, solved);
        Assert.Empty(Changed(before, Snapshot(merged)));
    }
}
