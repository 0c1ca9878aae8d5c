using TorchSharp;
using Xunit.Abstractions;
using ZipIt.Engine.Refit;
using ZipIt.Tests.Engine;
using ZipIt.Tests.ResNet;
using static TorchSharp.torch;
using static ZipIt.Tests.Refit.RefitTestSupport;

namespace ZipIt.Tests.Refit;

/// <summary>
/// On two different models (where the zip is not exact), each layer's squared error on the
/// calibration rows never increases, the refit weights really achieve the error it reports, and
/// the same inputs give the same bytes.
/// </summary>
public sealed class RefitErrorTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("teacher")]
    [InlineData("sequential")]
    public void No_layers_error_on_the_calibration_data_increases(string name)
    {
        var variant = RefitOptions.ParseVariant(name, "variant");
        var architecture = ResNetTestUtil.Architecture;
        var config = architecture.Configure("resnet20");
        using var data = Images(24, 16, seed: 3);
        using var a = Model(architecture, config, "a.safetensors", seed: 1);
        using var b = Model(architecture, config, "b.safetensors", seed: 2);
        // Weight averaging: identity matches, far from exact for two independent models.
        var matches = ZipperTests.IdentityMatches(a.Graph);
        using var merged = Zip([a, b], matches);

        var report = RefitStage.Run([a, b], merged, matches, data, batchSize: 10, new RefitOptions(variant));

        foreach (var l in report.Layers)
        {
            output.WriteLine($"{l.Layer}: {l.RelativeErrorBefore:0.0000} → {l.RelativeErrorAfter:0.0000} ({l.Samples} rows, {l.Features} features)");
            Assert.True(l.ErrorAfter <= l.ErrorBefore * (1 + 1e-12) + 1e-12 * l.TargetSquares, $"{l.Layer}: error {l.ErrorBefore:G6} → {l.ErrorAfter:G6}");
        }
        var (before, after) = report.MeanRelativeError;
        Assert.True(after < 0.8 * before, $"the refit should fit the averaged layers markedly better (mean relative error {before:0.000} → {after:0.000})");

        if (variant != RefitVariant.Teacher) return;
        // Teacher-forced inputs and targets do not depend on the merged model: refitting again sees the
        // same rows, so its "before" is the error the written weights really have, and it stays put.
        var again = RefitStage.Run([a, b], merged, matches, data, batchSize: 10, new RefitOptions(variant));
        foreach (var (first, second) in report.Layers.Zip(again.Layers))
        {
            Assert.Equal(first.Layer, second.Layer);
            Assert.True(Math.Abs(second.ErrorBefore - first.ErrorAfter) <= 1e-6 * first.TargetSquares,
                $"{first.Layer}: the refit weights have error {second.ErrorBefore:G8}, the solve said {first.ErrorAfter:G8}");
        }
    }

    [Theory]
    [InlineData("teacher")]
    [InlineData("sequential")]
    public void The_same_inputs_give_the_same_bytes(string name)
    {
        var variant = RefitOptions.ParseVariant(name, "variant");
        var architecture = ResNetTestUtil.Architecture;
        var config = architecture.Configure("resnet20");
        using var data = Images(16, 16, seed: 3);
        using var a = Model(architecture, config, "a.safetensors", seed: 1);
        using var b = Model(architecture, config, "b.safetensors", seed: 2);
        var matches = ZipperTests.IdentityMatches(a.Graph);
        using var first = Zip([a, b], matches);
        using var second = Zip([a, b], matches);
        RefitStage.Run([a, b], first, matches, data, batchSize: 8, new RefitOptions(variant));
        RefitStage.Run([a, b], second, matches, data, batchSize: 8, new RefitOptions(variant));
        Assert.Empty(Changed(Snapshot(first), Snapshot(second)));
    }
}
