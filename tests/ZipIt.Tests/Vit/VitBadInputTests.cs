using ZipIt.Engine.Checkpoints;
using ZipIt.Tests.Cli;
using ZipIt.Tests.Engine;

namespace ZipIt.Tests.Vit;

/// <summary>Bad ViT input is one line naming the tensor or model, exit 3, nothing written.</summary>
[Trait("Category", ZipIt.Tests.Infrastructure.Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class VitBadInputTests
{
    private static string Rewrite(TempDirectory dir, string file, Action<Dictionary<string, TorchSharp.torch.Tensor>, Dictionary<string, string>> change)
    {
        using var ckpt = Checkpoint.Open(Repository.Fixture("parity", "timm_vit_p4_d96_h3_l3.safetensors"));
        var tensors = ckpt.ReadAll();
        var metadata = ckpt.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value);
        change(tensors, metadata);
        var path = dir.File(file);
        CheckpointWriter.WriteFile(path, tensors, metadata);
        return path;
    }

    [Fact]
    public void Heads_that_do_not_divide_the_width()
    {
        using var dir = new TempDirectory();
        var path = Rewrite(dir, "h5.safetensors", (_, m) => m["num_heads"] = "5");
        var io = Repository.Fixture("parity", "timm_vit_p4_d96_h3_l3.io.safetensors");
        var result = Tool.Run("predict", path, "-i", io, "-o", dir.File("out.safetensors"));
        Assert.Equal(3, result.ExitCode);
        ExitCodeTests.AssertOneErrorLine(result, "heads=5 (from metadata 'num_heads') does not divide the width 96 of 'blocks.0.attn.qkv.weight'");
        Assert.False(File.Exists(dir.File("out.safetensors")));
    }

    [Fact]
    public void A_qkv_that_is_not_three_times_the_width()
    {
        using var dir = new TempDirectory();
        var path = Rewrite(dir, "qkv.safetensors", (t, _) =>
        {
            t["blocks.2.attn.qkv.weight"] = TorchSharp.torch.zeros(200, 96);
            t["blocks.2.attn.qkv.bias"] = TorchSharp.torch.zeros(200);
        });
        var result = Tool.Run("inspect", path);
        Assert.Equal(3, result.ExitCode);
        ExitCodeTests.AssertOneErrorLine(result, "'blocks.2.attn.qkv.weight' has shape [200,96]");
    }

    [Theory]
    [InlineData("collect")]
    [InlineData("zip")]
    public void Models_of_different_depth_or_width(string command)
    {
        using var dir = new TempDirectory();
        foreach (var (file, variant) in new[] { ("pico.safetensors", "vit_pico_patch4_32"), ("nano.safetensors", "vit_nano_patch4_32"), ("deep.safetensors", "vit_pico_patch4_32") })
            Assert.Equal(0, Tool.Run(["init", variant, "-o", dir.File(file), .. file == "deep.safetensors" ? new[] { "--arch-set", "depth=4" } : []]).ExitCode);
        var images = PermutationRecoveryTests.Images(dir, "images.safetensors", 4, 32, seed: 1);
        var matches = dir.File("matches.safetensors");
        Assert.Equal(0, Tool.Run("collect", dir.File("pico.safetensors"), dir.File("pico.safetensors"), "--data", images, "-o", dir.File("m.safetensors")).ExitCode);
        Assert.Equal(0, Tool.Run("match", dir.File("m.safetensors"), "-o", matches).ExitCode);
        foreach (var other in new[] { "nano.safetensors", "deep.safetensors" })
        {
            var output = dir.File("out.safetensors");
            var result = command == "collect"
                ? Tool.Run("collect", dir.File("pico.safetensors"), dir.File(other), "--data", images, "-o", output)
                : Tool.Run("zip", dir.File("pico.safetensors"), dir.File(other), "--matches", matches, "-o", output);
            Assert.Equal(3, result.ExitCode);
            ExitCodeTests.AssertOneErrorLine(result, other);
            Assert.Contains(other == "nano.safetensors" ? "width=192" : "depth=4", result.Error);
            Assert.False(File.Exists(output));
        }
    }
}
