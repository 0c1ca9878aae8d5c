using System.Text.Json;
using ZipIt.Plugins.Vit;
using static ZipIt.Tests.Vit.VitTestUtil;
using ZipIt.Engine.Core;
using ZipIt.Matching;

namespace ZipIt.Tests.Vit;

public class VitRecognizeTests
{
    public static TheoryData<string, string> Variants() => new()
    {
        { "vit_tiny_patch16_224", "" },
        { "vit_small_patch16_224", "" },
        { "vit_base_patch16_224", "" },
        { "deit_tiny_patch16_224", "" },
        { "deit_small_patch16_224", "" },
        { "vit_pico_patch4_32", "" },
        { "vit_nano_patch4_32", "" },
        { "vit_pico_patch4_32", "class_token=false,global_pool=avg,qkv_bias=false,classes=7" },
        { "vit_pico_patch4_32", "layer_scale=true,no_embed_class=true,mlp_ratio=2.5,heads=4,width=64,depth=2" },
        { "vit-custom", "width=48,heads=2,patch=8,image_size=64,in_chans=1,global_pool=avg" },
    };

    [Fact]
    public void Plugin_registers_the_timm_variants_and_two_small_ones()
    {
        Assert.Equal(
            ["vit_tiny_patch16_224", "vit_small_patch16_224", "vit_base_patch16_224", "deit_tiny_patch16_224", "deit_small_patch16_224", "vit_pico_patch4_32", "vit_nano_patch4_32"],
            Architecture.Variants.Select(v => v.Name));
        var small = Config("vit_small_patch16_224");
        Assert.Equal(new Dictionary<string, string>
        {
            ["width"] = "384", ["depth"] = "12", ["heads"] = "6", ["mlp_hidden"] = "1536", ["patch"] = "16", ["image_size"] = "224",
            ["in_chans"] = "3", ["classes"] = "1000", ["class_token"] = "true", ["global_pool"] = "token", ["no_embed_class"] = "false",
            ["qkv_bias"] = "true", ["layer_scale"] = "false",
        }, small.Settings);
        Assert.Equal("vit_nano_patch4_32", Config("vit_pico_patch4_32", ("width", "192"), ("depth", "6")).Variant);
        Assert.Equal("vit-custom", Config("vit_pico_patch4_32", ("classes", "100"), ("depth", "4")).Variant);
        Assert.Equal("vit_pico_patch4_32", Config("vit_pico_patch4_32", ("classes", "100")).Variant);
    }

    /// <summary>A created model's keys and shapes (plus the head count, which shapes do not carry) give its configuration back; so does its metadata.</summary>
    [Theory]
    [MemberData(nameof(Variants))]
    public void Created_models_are_recognised_as_their_configuration(string variant, string settings)
    {
        var pairs = settings.Length == 0 ? [] : settings.Split(',').Select(p => p.Split('=')).ToDictionary(p => p[0], p => p[1]);
        var config = Architecture.Configure(variant, pairs);
        using var model = Architecture.Create(config);
        var signature = new CheckpointSignature(
            model.state_dict().ToDictionary(kv => kv.Key, kv => new TensorSignature("F32", kv.Value.shape)),
            new Dictionary<string, string>()) { Hints = new Dictionary<string, string> { ["heads"] = config.Settings["heads"] } };
        var recognised = Architecture.Recognize(signature);
        Assert.NotNull(recognised);
        Assert.Equal(config.Settings, recognised.Settings);
        if (!variant.StartsWith("deit", StringComparison.Ordinal)) Assert.Equal(config, recognised);
        Assert.Equal(["heads: " + config.Settings["heads"] + ", from --arch-set heads"], recognised.Notes);

        // Metadata round trip, as zipit writes and reads it.
        var metadata = ZipIt.Engine.Checkpoints.ArchitectureMetadata.For(config);
        var settingsBack = JsonSerializer.Deserialize<Dictionary<string, string>>(metadata[ZipIt.Engine.Core.MetadataKeys.Config])!;
        var reloaded = new ArchitectureConfig(metadata[ZipIt.Engine.Core.MetadataKeys.Architecture], metadata[ZipIt.Engine.Core.MetadataKeys.Variant], settingsBack);
        Assert.Equal(config, reloaded);
        Assert.Equal(config, VitSpec.FromConfig(reloaded).ToConfig(reloaded.Variant));
        using var again = Architecture.Create(reloaded);
        Assert.Equal(model.state_dict().Keys, again.state_dict().Keys);
    }

    [Fact]
    public void The_head_count_comes_from_hints_then_metadata_then_the_named_variant_then_the_convention()
    {
        var fixture = FixtureSignature("timm_vit_p4_d96_h3_l3");
        Assert.Equal(["heads: 3, from metadata 'num_heads'"], Architecture.Recognize(fixture)!.Notes);

        var bare = fixture with { Metadata = new Dictionary<string, string>() };
        Assert.Equal("6", Architecture.Recognize(bare with { Hints = new Dictionary<string, string> { ["heads"] = "6" } })!.Settings["heads"]);
        var fromHint = Architecture.Recognize(bare with { Hints = new Dictionary<string, string> { ["heads"] = "2" } })!;
        Assert.Equal("2", fromHint.Settings["heads"]);
        Assert.Equal(["heads: 2, from --arch-set heads"], fromHint.Notes);
        // A hint that agrees with the metadata is fine; one that contradicts it is an error.
        Assert.Equal("3", Architecture.Recognize(fixture with { Hints = new Dictionary<string, string> { ["heads"] = "3" } })!.Settings["heads"]);
        var contradiction = Assert.Throws<ArgumentException>(() => Architecture.Recognize(fixture with { Hints = new Dictionary<string, string> { ["heads"] = "2" } }));
        Assert.Contains("contradicts the checkpoint's metadata 'num_heads' = 3", contradiction.Message);

        var modelArgs = Architecture.Recognize(bare with { Metadata = new Dictionary<string, string> { ["config.model_args.num_heads"] = "4" } })!;
        Assert.Equal("4", modelArgs.Settings["heads"]);
        Assert.Equal(["heads: 4, from metadata 'config.model_args.num_heads'"], modelArgs.Notes);

        var named = Architecture.Recognize(bare with { Metadata = new Dictionary<string, string> { ["config.architecture"] = "vit_pico_patch4_32.my_tag" } })!;
        Assert.Equal("3", named.Settings["heads"]);
        Assert.Contains("vit_pico_patch4_32", Assert.Single(named.Notes));

        // 96 is not a multiple of 64 and nothing says how many heads: an error, not a guess.
        var e = Assert.Throws<ArgumentException>(() => Architecture.Recognize(bare));
        Assert.Contains("--arch-set heads", e.Message);
    }

    [Fact]
    public void Bad_head_counts_and_fused_qkv_shapes_throw_naming_the_tensor()
    {
        var fixture = FixtureSignature("timm_vit_p4_d96_h3_l3");
        var e = Assert.Throws<ArgumentException>(() => Architecture.Recognize(fixture with { Metadata = new Dictionary<string, string> { ["num_heads"] = "5" } }));
        Assert.Contains("'blocks.0.attn.qkv.weight'", e.Message);
        Assert.Contains("metadata 'num_heads'", e.Message);

        var tensors = fixture.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value);
        tensors["blocks.1.attn.qkv.weight"] = new TensorSignature("F32", [200, 96]);
        e = Assert.Throws<ArgumentException>(() => Architecture.Recognize(fixture with { Tensors = tensors }));
        Assert.Contains("'blocks.1.attn.qkv.weight'", e.Message);
    }

    [Theory]
    [InlineData("resnet20x2_cifar.safetensors")]
    [InlineData("torchvision_bottleneck_1111.safetensors")]
    public void ResNets_are_not_vits(string file)
    {
        using var ckpt = ZipIt.Engine.Checkpoints.Checkpoint.Open(Repository.Fixture("parity", file));
        Assert.Null(Architecture.Recognize(ZipIt.Engine.Models.ModelLoader.SignatureOf(ckpt)));
    }

    [Theory]
    [InlineData("timm_vit_p4_d96_h3_l3")]
    [InlineData("timm_vit_p4_d64_h4_l2_ls_avg")]
    [InlineData("timm_vit_p4_d64_h2_l2_nocls")]
    public void Vits_are_not_resnets(string name) =>
        Assert.Null(new ZipIt.Plugins.ResNet.ResNetArchitecture().Recognize(FixtureSignature(name)));

    [Fact]
    public void The_fixture_options_are_recognised()
    {
        var avg = Architecture.Recognize(FixtureSignature("timm_vit_p4_d64_h4_l2_ls_avg"))!;
        Assert.Equal(Config("vit-custom", ("width", "64"), ("depth", "2"), ("heads", "4"), ("mlp_ratio", "2"), ("layer_scale", "true"), ("global_pool", "avg")), avg);
        var nocls = Architecture.Recognize(FixtureSignature("timm_vit_p4_d64_h2_l2_nocls"))!;
        Assert.Equal(Config("vit-custom", ("width", "64"), ("depth", "2"), ("heads", "2"), ("classes", "7"), ("class_token", "false"),
            ("global_pool", "avg"), ("no_embed_class", "true"), ("qkv_bias", "false")), nocls);
    }

    [Theory]
    [InlineData("depth=0", "'depth'")]
    [InlineData("heads=5", "heads do not divide")]
    [InlineData("image_size=30", "'image_size'")]
    [InlineData("class_token=false", "needs a class token")]
    [InlineData("mlp_ratio=2,mlp_hidden=3", "not both")]
    [InlineData("colour=red", "unknown ViT setting")]
    [InlineData("qkv_bias=yes", "'qkv_bias'")]
    public void Bad_settings_are_rejected(string settings, string message)
    {
        var pairs = settings.Split(',').Select(p => p.Split('=')).ToDictionary(p => p[0], p => p[1]);
        var e = Assert.Throws<ArgumentException>(() => Architecture.Configure("vit_pico_patch4_32", pairs));
        Assert.Contains(message, e.Message);
        Assert.Throws<ArgumentException>(() => Architecture.Configure("vit_giant", null));
    }
}

/// <summary>A head count the checkpoint records and a contradicting <c>--arch-set</c> are an error, never a silent override.</summary>
public sealed class VitArchSetContradictionTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Predict_with_heads_that_contradict_the_metadata_is_refused_and_writes_nothing()
    {
        var model = Repository.Fixture("parity", "timm_vit_p4_d96_h3_l3.safetensors");
        var io = Repository.Fixture("parity", "timm_vit_p4_d96_h3_l3.io.safetensors");
        var output = _dir.File("out.safetensors");
        var refused = Tool.Run("predict", model, "-i", io, "-o", output, "--arch-set", "heads=6");
        Assert.True(refused.ExitCode == 3, refused.ToString());
        ZipIt.Tests.Cli.ExitCodeTests.AssertOneErrorLine(refused, "--arch-set heads=6 contradicts the checkpoint's metadata 'num_heads' = 3");
        Assert.False(File.Exists(output));

        var agreeing = Tool.Run("predict", model, "-i", io, "-o", output, "--arch-set", "heads=3");
        Assert.True(agreeing.ExitCode == 0, agreeing.ToString());
    }
}
