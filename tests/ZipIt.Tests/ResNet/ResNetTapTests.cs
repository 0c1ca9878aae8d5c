using TorchSharp;
using static TorchSharp.torch;
using static ZipIt.Tests.ResNet.ResNetTestUtil;

namespace ZipIt.Tests.ResNet;

/// <summary>Every feature tap names a module that is invoked with hooks firing, and observes the space's units.</summary>
public class ResNetTapTests
{
    [Theory]
    [InlineData("resnet20", "bn", 16)]
    [InlineData("resnet20", "gn", 16)]
    [InlineData("resnet18", "bn", 32)]
    [InlineData("resnet-bottleneck", "bn", 32)]
    public void TapsSeeTheSpaceWidth(string variant, string norm, int size)
    {
        var settings = new Dictionary<string, string> { ["norm"] = norm };
        if (variant == "resnet-bottleneck") settings["blocks"] = "1,1,1,1";
        var config = Architecture.Configure(variant, settings);
        using var model = Architecture.Create(config);
        var graph = Architecture.Describe(config);
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);

        var seen = new Dictionary<string, long[]>();
        var hooks = new List<Action>();
        foreach (var space in graph.Spaces)
            foreach (var tap in space.Taps)
            {
                Assert.True(modules.TryGetValue(tap.Module, out var m), $"space '{space.Name}': no module '{tap.Module}'");
                var module = Assert.IsAssignableFrom<nn.Module<Tensor, Tensor>>(m);
                var key = $"{space.Name}/{tap}";
                var handle = tap.Site == TapSite.Input
                    ? module.register_forward_pre_hook((_, x) => { seen[key] = x.shape; return null!; })
                    : module.register_forward_hook((_, _, y) => { seen[key] = y.shape; return null!; });
                hooks.Add(handle.remove);
            }

        using (var x = randn(2, 3, size, size))
        using (Eval(model, x)) { }
        foreach (var remove in hooks) remove();

        foreach (var space in graph.Spaces)
            foreach (var tap in space.Taps)
            {
                Assert.True(seen.TryGetValue($"{space.Name}/{tap}", out var shape), $"tap {tap} of '{space.Name}' never fired");
                var axis = tap.ChannelAxis < 0 ? shape.Length + tap.ChannelAxis : tap.ChannelAxis;
                Assert.Equal(space.Width, tap.Length ?? shape[axis] - tap.Offset);
                Assert.Equal(2, shape[0]);
            }
        Assert.Equal(graph.Spaces.Sum(s => s.Taps.Count), seen.Count);
    }
}
