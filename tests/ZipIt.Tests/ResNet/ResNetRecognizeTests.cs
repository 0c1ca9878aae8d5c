using static ZipIt.Tests.ResNet.ResNetTestUtil;

namespace ZipIt.Tests.ResNet;

public class ResNetRecognizeTests
{
    [Fact]
    public void CifarParityFixtureIsResNet20TimesTwo()
    {
        var config = Architecture.Recognize(ResNetFixtures.Signature(ResNetFixtures.Path("parity", "resnet20x2_cifar.safetensors")));
        Assert.NotNull(config);
        Assert.Equal(Config("resnet20", ("width", "2")), config);
        Assert.Equal("resnet20", config.Variant);
        Assert.Equal("2", config.Settings["width"]);
        Assert.Equal("10", config.Settings["classes"]);
        Assert.Equal("bn", config.Settings["norm"]);
    }

    [Fact]
    public void BottleneckParityFixtureIsAOneBlockPerStageBottleneck()
    {
        var config = Architecture.Recognize(ResNetFixtures.Signature(ResNetFixtures.Path("parity", "torchvision_bottleneck_1111.safetensors")));
        Assert.NotNull(config);
        Assert.Equal("resnet-bottleneck", config.Variant);
        Assert.Equal("1,1,1,1", config.Settings["blocks"]);
        Assert.Equal("10", config.Settings["classes"]);
        Assert.Equal("torchvision", config.Settings["style"]);
        Assert.Equal(Config("resnet-bottleneck", ("blocks", "1,1,1,1"), ("classes", "10")), config);
    }

    [Theory]
    [InlineData("parity", "timm_vit_p4_d96_h3_l3.safetensors")]
    [InlineData("matching", "case00_n8_a0.5_b0.5.safetensors")]
    public void OtherCheckpointsAreNotResNets(string folder, string file) =>
        Assert.Null(Architecture.Recognize(ResNetFixtures.Signature(ResNetFixtures.Path(folder, file))));

    [Fact]
    public void LookalikesAreNotResNets()
    {
        Assert.Null(Architecture.Recognize(new CheckpointSignature(new Dictionary<string, TensorSignature>(), new Dictionary<string, string>())));
        var sig = new Dictionary<string, TensorSignature>
        {
            ["conv1.weight"] = new("F32", [64, 3, 7, 7]),
            ["layer1.0.conv1.weight"] = new("F32", [64, 64, 3, 3]),
            ["classifier.weight"] = new("F32", [10, 512]),
        };
        Assert.Null(Architecture.Recognize(new CheckpointSignature(sig, new Dictionary<string, string>())));
    }

    [Theory]
    [InlineData("resnet20", "width=3,classes=512")]
    [InlineData("resnet20", "norm=gn,width=2")]
    [InlineData("resnet-cifar", "blocks=1,2,3,norm=gn,groups=4")]
    [InlineData("resnet18", "classes=7")]
    [InlineData("resnet-bottleneck", "blocks=1,1,2,1,norm=gn,groups=16")]
    public void CreatedModelsAreRecognisedAsTheirConfiguration(string variant, string settings)
    {
        var pairs = new Dictionary<string, string>();
        string? pending = null;
        // "blocks=1,2,3" holds commas itself: a part without '=' continues the previous value.
        foreach (var part in settings.Split(','))
        {
            if (part.Contains('=')) { var kv = part.Split('='); pairs[pending = kv[0]] = kv[1]; }
            else pairs[pending!] += "," + part;
        }
        var config = Architecture.Configure(variant, pairs);
        var metadata = config.Settings.TryGetValue("groups", out var g) ? new Dictionary<string, string> { ["resnet.groups"] = g } : null;
        // The plugin authors' check: Recognize of a fresh model's signature, and Configure, give the configuration back.
        PluginConformance.RecognizeRoundTrip(Architecture, config, metadata);
    }

    [Fact]
    public void GroupNormWithoutMetadataAssumesEightGroups()
    {
        var config = Config("resnet20", ("norm", "gn"));
        using var model = Architecture.Create(config);
        var recognised = Architecture.Recognize(Signature(model.state_dict()));
        Assert.NotNull(recognised);
        Assert.Equal("gn", recognised.Settings["norm"]);
        Assert.Equal("8", recognised.Settings["groups"]);
        Assert.Equal(config, recognised);
    }
}
