using System.Text.Json;
using TorchSharp;
using ZipIt.Plugins.ResNet;
using static TorchSharp.torch;
using static ZipIt.Tests.ResNet.ResNetTestUtil;

namespace ZipIt.Tests.ResNet;

public class ResNetConfigureTests
{
    [Fact]
    public void PluginRegistersOneArchitectureWithTheStandardVariants()
    {
        var registry = new Registry();
        new ResNetPlugin().Register(registry);
        var arch = Assert.Single(registry.Architectures);
        Assert.Equal("resnet", arch.Name);
        Assert.Equal(["resnet20", "resnet32", "resnet44", "resnet56", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152"], arch.Variants.Select(v => v.Name));
        var attribute = typeof(ResNetPlugin).Assembly.GetCustomAttributes(typeof(ZipItPluginAttribute), false).Cast<ZipItPluginAttribute>().Single();
        Assert.Equal(typeof(ResNetPlugin), attribute.PluginType);
    }

    [Fact]
    public void DefaultsAreWrittenOut()
    {
        var c20 = Config("resnet20");
        Assert.Equal("resnet", c20.Architecture);
        Assert.Equal("resnet20", c20.Variant);
        Assert.Equal(new Dictionary<string, string> { ["style"] = "cifar", ["block"] = "basic", ["blocks"] = "3,3,3", ["width"] = "1", ["classes"] = "10", ["norm"] = "bn" }, c20.Settings);

        var c50 = Config("resnet50");
        Assert.Equal(new Dictionary<string, string> { ["style"] = "torchvision", ["block"] = "bottleneck", ["blocks"] = "3,4,6,3", ["classes"] = "1000", ["norm"] = "bn" }, c50.Settings);

        var gn = Config("resnet20", ("norm", "gn"), ("width", "16"), ("classes", "512"));
        Assert.Equal("8", gn.Settings["groups"]);
        Assert.Equal("16", gn.Settings["width"]);
        Assert.Equal("512", gn.Settings["classes"]);
    }

    [Fact]
    public void TheVariantNameFollowsTheBlockCounts()
    {
        Assert.Equal("resnet32", Config("resnet20", ("blocks", "5,5,5")).Variant);
        Assert.Equal("resnet20", Config("resnet-cifar", ("blocks", "3,3,3")).Variant);
        Assert.Equal("resnet-cifar", Config("resnet20", ("blocks", "2,2,2")).Variant);
        var custom = Config("resnet-bottleneck", ("blocks", "1,1,1,1"), ("classes", "10"));
        Assert.Equal("resnet-bottleneck", custom.Variant);
        Assert.Equal("1,1,1,1", custom.Settings["blocks"]);
        Assert.Equal("resnet18", Config("resnet-basic", ("blocks", "2,2,2,2")).Variant);
        Assert.Equal(Config("resnet50"), Config("resnet50", ("style", "torchvision"), ("block", "bottleneck")));
    }

    [Theory]
    [InlineData("resnet21", null, null, "unknown ResNet variant 'resnet21'")]
    [InlineData("resnet20", "depth", "20", "unknown ResNet setting(s) 'depth'")]
    [InlineData("resnet20", "width", "0", "'width' must be a positive integer")]
    [InlineData("resnet20", "width", "two", "'width' must be a positive integer")]
    [InlineData("resnet20", "classes", "-3", "'classes' must be a positive integer")]
    [InlineData("resnet20", "norm", "ln", "'norm' must be 'bn' or 'gn'")]
    [InlineData("resnet20", "groups", "4", "'groups' applies to norm=gn only")]
    [InlineData("resnet20", "blocks", "3,3", "needs 3 comma-separated block counts")]
    [InlineData("resnet20", "blocks", "3,x,3", "comma-separated positive block counts")]
    [InlineData("resnet20", "blocks", "3,0,3", "comma-separated positive block counts")]
    [InlineData("resnet20", "style", "torchvision", "has style=cifar")]
    [InlineData("resnet50", "block", "basic", "has block=bottleneck")]
    [InlineData("resnet50", "width", "2", "'width' applies to CIFAR ResNets only")]
    [InlineData("resnet-cifar", null, null, "needs the 'blocks' setting")]
    public void BadRequestsAreArgumentExceptions(string variant, string? key, string? value, string message)
    {
        var settings = key is null ? new Dictionary<string, string>() : new Dictionary<string, string> { [key] = value! };
        var e = Assert.Throws<ArgumentException>(() => Architecture.Configure(variant, settings));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void GroupsMustDivideEveryWidth()
    {
        var e = Assert.Throws<ArgumentException>(() => Config("resnet20", ("norm", "gn"), ("groups", "32")));
        Assert.Contains("does not divide 16 channels", e.Message);
        Assert.Equal("32", Config("resnet20", ("norm", "gn"), ("groups", "32"), ("width", "2")).Settings["groups"]);
    }

    [Fact]
    public void CreateAndDescribeRejectForeignOrBrokenConfigurations()
    {
        Assert.Throws<ArgumentException>(() => Architecture.Create(new ArchitectureConfig("vit", "vit_small")));
        var c = Config("resnet20");
        var broken = new ArchitectureConfig("resnet", "resnet20", c.Settings.Where(kv => kv.Key != "blocks").ToDictionary());
        Assert.Contains("'blocks' is missing", Assert.Throws<ArgumentException>(() => Architecture.Describe(broken)).Message);
    }

    [Theory]
    [InlineData("resnet18", "torchvision_resnet18.json")]
    [InlineData("resnet50", "torchvision_resnet50.json")]
    public void TorchvisionStateDictMatchesTheRealCheckpoint(string variant, string file)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(ResNetFixtures.Path("shapes", file)));
        var expected = doc.RootElement.EnumerateObject()
            .Select(p => (p.Name, Shape: string.Join(",", p.Value.EnumerateArray().Select(e => e.GetInt64()))))
            .ToList();

        using var model = Architecture.Create(Config(variant));
        var sd = model.state_dict();
        var actual = sd.Select(kv => (kv.Key, Shape: string.Join(",", kv.Value.shape))).ToList();

        Assert.Equal(expected.OrderBy(e => e.Name, StringComparer.Ordinal), actual.OrderBy(e => e.Key, StringComparer.Ordinal));
        var tracked = sd["layer1.0.bn1.num_batches_tracked"];
        Assert.Equal(ScalarType.Int64, tracked.dtype);
        Assert.Equal(0, tracked.dim());
    }

    [Fact]
    public void CifarStateDictHasTheReferenceKeys()
    {
        using var model = Architecture.Create(Config("resnet20", ("width", "2")));
        var keys = model.state_dict().Keys.ToHashSet();
        Assert.Contains("layer2.0.shortcut.0.weight", keys);
        Assert.Contains("layer3.0.shortcut.1.num_batches_tracked", keys);
        Assert.DoesNotContain("layer1.0.shortcut.0.weight", keys);
        Assert.Contains("linear.bias", keys);

        using var gn = Architecture.Create(Config("resnet20", ("norm", "gn")));
        var gnKeys = gn.state_dict().Keys.ToList();
        Assert.Contains("layer2.0.shortcut.1.weight", gnKeys);
        Assert.DoesNotContain(gnKeys, k => k.Contains("running_") || k.Contains("num_batches_tracked"));
        // GroupNorm starts as the identity affine map, as in PyTorch.
        var w = gn.state_dict()["layer1.0.bn1.weight"];
        Assert.True(w.allclose(ones_like(w)));
    }

    [Fact]
    public void StagesComposeToTheForwardPass()
    {
        using var model = Architecture.Create(Config("resnet20"));
        model.eval();
        using var _ = no_grad();
        using var x = randn(2, 3, 16, 16, generator: new Generator(5));
        using var full = model.call(x);
        using var trunk = model.forward_stages(x, 0, 3);
        using var rest = model.forward_stages(trunk, 3, model.StageCount);
        Assert.Equal([2L, 10L], full.shape);
        Assert.True(MaxAbsDiff(full, rest) < 1e-6);
        Assert.Equal([2L, 32L, 8L, 8L], trunk.shape);
    }

    private sealed class Registry : IPluginRegistry
    {
        public List<IArchitecture> Architectures { get; } = [];
        public void AddArchitecture(IArchitecture architecture) => Architectures.Add(architecture);
        public void AddMatcher(IMatcher matcher) => throw new InvalidOperationException("the ResNet plugin registers no matcher");
    }
}
