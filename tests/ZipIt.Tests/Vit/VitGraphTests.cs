using static ZipIt.Tests.Vit.VitTestUtil;

namespace ZipIt.Tests.Vit;

public class VitGraphTests
{
    [Theory]
    [InlineData("vit_pico_patch4_32", "")]
    [InlineData("vit_nano_patch4_32", "")]
    [InlineData("vit_tiny_patch16_224", "")]
    [InlineData("vit_pico_patch4_32", "layer_scale=true,global_pool=avg")]
    [InlineData("vit_pico_patch4_32", "class_token=false,global_pool=avg,qkv_bias=false")]
    public void The_description_fits_the_model(string variant, string settings)
    {
        var pairs = settings.Length == 0 ? [] : settings.Split(',').Select(p => p.Split('=')).ToDictionary(p => p[0], p => p[1]);
        var config = Architecture.Configure(variant, pairs);
        using var model = Architecture.Create(config);
        var graph = Architecture.Describe(config);
        Assert.Empty(graph.Validate(ZipIt.Testing.ModelSignature.Tensors(model)));

        var depth = int.Parse(config.Settings["depth"]);
        var width = int.Parse(config.Settings["width"]);
        var heads = int.Parse(config.Settings["heads"]);
        Assert.Equal(4 * depth + 2, graph.LayerCount);
        Assert.Equal(3 * depth + 1, graph.Spaces.Count);
        var stream = Assert.Single(graph.Spaces, s => s.IsResidualStream);
        Assert.Equal(graph.Spaces[^1], stream);
        Assert.Equal(width, stream.Width);
        Assert.Equal(config.Settings["class_token"] == "true" ? 2 : 1, stream.Producers.Count(a => a.Kind == TensorKind.Embedding));
        Assert.All(stream.Producers.Where(a => a.Kind == TensorKind.Embedding), a => Assert.Equal(2, a.Axis));
        var defaultTap = Assert.Single(stream.Taps, t => t.Set is null);
        Assert.Equal(new FeatureTap("head", TapSite.Input, 1), defaultTap);
        Assert.Equal(Enumerable.Range(0, depth).Select(d => $"blocks.{d}"), stream.Taps.Where(t => t.Set == "blocks").Select(t => t.Module));
        Assert.All(stream.Taps.Where(t => t.Set is not null), t => Assert.Equal(-1, t.ChannelAxis));

        for (var d = 0; d < depth; d++)
        {
            var qk = graph.Space($"blocks.{d}.attn.qk");
            var v = graph.Space($"blocks.{d}.attn.v");
            Assert.Equal(heads, qk.Groups!.Count);
            Assert.Equal(heads, v.Groups!.Count);
            Assert.Equal($"blocks.{d}.heads", qk.GroupTie);
            Assert.Equal(qk.GroupTie, v.GroupTie);
            Assert.Equal([0L, width], qk.Taps.Where(t => t.Set is null).Select(t => t.Offset));
            // The MuDSC reference's observation: k twice, q never.
            Assert.Equal([width, width], qk.Taps.Where(t => t.Set == "mudsc-reference").Select(t => t.Offset));
            Assert.All(qk.Taps, t => Assert.Equal((width, TapSite.Output, -1, $"blocks.{d}.attn.qkv"), (t.Length!.Value, t.Site, t.ChannelAxis, t.Module)));
            Assert.Equal([0L, width], qk.Producers.Where(a => a.Kind == TensorKind.Weight).Select(a => a.Offset));
            Assert.Equal(2L * width, Assert.Single(v.Producers, a => a.Kind == TensorKind.Weight).Offset);
            Assert.Empty(qk.Consumers);
            Assert.Equal(new TensorAxis($"blocks.{d}.attn.proj.weight", 1), Assert.Single(v.Consumers));
            Assert.Equal(new FeatureTap($"blocks.{d}.mlp.fc2", TapSite.Input, -1), Assert.Single(graph.Space($"blocks.{d}.mlp").Taps));
        }

        Assert.Equal(["embed", .. Enumerable.Range(0, depth).Select(d => $"blocks.{d}"), "head"], graph.Stages.Select(s => s.Name));
        Assert.All(graph.Stages.Take(depth + 1), s => Assert.Equal(("stream", -1), (s.OutputSpace!, s.OutputChannelAxis)));
        Assert.Equal(Enumerable.Range(0, depth).Select(k => (int?)(1 + 4 * (k + 1))), graph.Stages.Skip(1).Take(depth).Select(s => s.StopLabel));
        Assert.Null(graph.Stages[^1].OutputSpace);
        Assert.Equal([new TensorAxis("patch_embed.proj.weight", 1)], graph.Inputs);
        Assert.Equal(["head.weight", "head.bias"], graph.Outputs.Select(a => a.Tensor));
        Assert.Equal(model.StageCount, graph.Stages.Count);
    }

    [Fact]
    public void Every_tap_is_a_called_module()
    {
        var config = Config("vit_pico_patch4_32", ("layer_scale", "true"));
        using var model = Architecture.Create(config);
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);
        var graph = Architecture.Describe(config);
        var fired = new HashSet<string>();
        var removers = new List<Action>();
        foreach (var tap in graph.Spaces.SelectMany(s => s.Taps).DistinctBy(t => (t.Module, t.Site)))
        {
            var m = Assert.IsAssignableFrom<TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>>(modules[tap.Module]);
            var key = $"{tap.Site} {tap.Module}";
            if (tap.Site == TapSite.Input) removers.Add(m.register_forward_pre_hook((_, x) => { fired.Add(key); return null!; }).remove);
            else removers.Add(m.register_forward_hook((_, _, y) => { fired.Add(key); return null!; }).remove);
        }
        using (TorchSharp.torch.no_grad())
        using (var x = TorchSharp.torch.randn(2, 3, 32, 32))
        using (var y = model.call(x)) { }
        foreach (var remove in removers) remove();
        Assert.Equal(graph.Spaces.SelectMany(s => s.Taps).Select(t => $"{t.Site} {t.Module}").Distinct().Order(), fired.Order());
    }
}
