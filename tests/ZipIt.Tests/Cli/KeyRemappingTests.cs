using System.Text.Json;
using ZipIt.Engine.Checkpoints;

namespace ZipIt.Tests.Cli;

/// <summary>
/// Checkpoints as training frameworks save them: every key under <c>module.</c> (DataParallel),
/// <c>model.</c> (Lightning) or <c>_orig_mod.</c> (torch.compile), also nested, load as the plain
/// model; and settings a checkpoint does not record come from <c>--arch-set</c>.
/// </summary>
public sealed class KeyRemappingTests
{
    [Theory]
    [InlineData("module.")]
    [InlineData("model.")]
    [InlineData("_orig_mod.")]
    [InlineData("module._orig_mod.")]
    public void A_wrapper_prefix_on_every_key_is_stripped_and_inspect_says_so(string prefix)
    {
        using var dir = new TempDirectory();
        var fixture = Repository.Fixture("parity", "resnet20x2_cifar.safetensors");
        var io = Repository.Fixture("parity", "resnet20x2_cifar.io.safetensors");
        var wrapped = dir.File("wrapped.safetensors");
        using (var file = Checkpoint.Open(fixture))
            CheckpointWriter.WriteFile(wrapped, file.ReadAll().Select(kv => new KeyValuePair<string, TorchSharp.torch.Tensor>(prefix + kv.Key, kv.Value)));

        var inspect = Tool.Run("inspect", wrapped);
        Assert.True(inspect.ExitCode == 0, inspect.ToString());
        Assert.Contains("architecture: resnet/resnet20", inspect.Out);
        Assert.Contains($"every key starts with '{prefix}'", inspect.Out);
        Assert.Contains("keys:         match the architecture", inspect.Out);

        var predict = Tool.Run("predict", wrapped, "-i", io, "-o", dir.File("out.safetensors"), "--compare", io, "--json");
        Assert.True(predict.ExitCode == 0, predict.ToString());
        Assert.True(JsonDocument.Parse(predict.Out).RootElement.GetProperty("maxAbsDifference").GetDouble() < 1e-4);
    }

    [Fact]
    public void A_prefix_on_only_some_keys_is_not_a_wrapper()
    {
        using var dir = new TempDirectory();
        var fixture = Repository.Fixture("parity", "resnet20x2_cifar.safetensors");
        var partly = dir.File("partly.safetensors");
        using (var file = Checkpoint.Open(fixture))
            CheckpointWriter.WriteFile(partly, file.ReadAll().Select((kv, i) => new KeyValuePair<string, TorchSharp.torch.Tensor>(i == 0 ? "module." + kv.Key : kv.Key, kv.Value)));
        var result = Tool.Run("predict", partly, "-i", Repository.Fixture("parity", "resnet20x2_cifar.io.safetensors"), "-o", dir.File("out.safetensors"));
        Assert.Equal(3, result.ExitCode);
        Assert.DoesNotContain(dir.File("out.safetensors"), Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Arch_set_gives_a_timm_vit_the_head_count_its_checkpoint_does_not_record()
    {
        using var dir = new TempDirectory();
        // The d96 fixture without its num_heads metadata: 96 is not a multiple of timm's 64-wide heads.
        var bare = dir.File("bare.safetensors");
        using (var file = Checkpoint.Open(Repository.Fixture("parity", "timm_vit_p4_d96_h3_l3.safetensors")))
            CheckpointWriter.WriteFile(bare, file.ReadAll());

        var unknown = Tool.Run("inspect", bare, "--json");
        Assert.Contains("--arch-set heads=N", unknown.Out + unknown.Error);

        var io = Repository.Fixture("parity", "timm_vit_p4_d96_h3_l3.io.safetensors");
        var predict = Tool.Run("predict", bare, "--arch-set", "heads=3", "-i", io, "-o", dir.File("out.safetensors"), "--compare", io, "--json");
        Assert.True(predict.ExitCode == 0, predict.ToString());
        Assert.True(JsonDocument.Parse(predict.Out).RootElement.GetProperty("maxAbsDifference").GetDouble() < 1e-4);

        var inspect = Tool.Run("inspect", bare, "--arch-set", "heads=3");
        Assert.Contains("heads: 3, from --arch-set heads", inspect.Out);
    }
}
