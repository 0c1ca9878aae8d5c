using TorchSharp;
using ZipIt.Engine.Collect;
using static TorchSharp.torch;

namespace ZipIt.Tests.Engine;

/// <summary>
/// The collector centres the tapped features in place, so a tap must hand over a copy of its own,
/// never a view of an activation the model goes on to use.
/// </summary>
public sealed class FeatureTapsTests
{
    [Theory]
    [InlineData(0)] // channels already first: the transpose is the identity, the flat view would alias the activation
    [InlineData(1)]
    public void Centring_the_taken_features_leaves_the_forward_pass_unchanged(int channelAxis)
    {
        using var model = nn.Sequential(("first", nn.Linear(4, 4)), ("second", nn.Linear(4, 2)));
        model.eval();
        using var _ = torch.no_grad();
        using var x = torch.randn([4, 4], generator: new Generator(1)) + 3; // the weights' values do not matter: the same model runs twice
        using var plain = model.call(x);
        var space = new FeatureSpace("hidden", 4) { Taps = [new FeatureTap("first", TapSite.Output, channelAxis)] };
        using var taps = new FeatureTaps(model, [space]);
        using var centred = new CovarianceAccumulator(4);
        // A tap that runs before the second layer reads the activation: centre what it took at once,
        // from inside a hook on the second layer, as if the collector were that fast.
        var second = (nn.Module<Tensor, Tensor>)model.named_modules().Single(m => m.name == "second").module;
        using var hook = new Disposer(second.register_forward_pre_hook((_, input) =>
        {
            centred.Add([taps.Take("hidden")], 1);
            return null!;
        }).remove);
        using var observed = model.call(x);
        Assert.True(observed.allclose(plain, rtol: 0, atol: 0), "the tapped forward pass gave a different output");
        Assert.Equal(1, centred.Images);
    }

    private sealed class Disposer(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
