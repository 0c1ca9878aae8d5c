using System.Security.Cryptography;
using System.Text.Json;
using ZipIt.Engine.Checkpoints;
using ZipIt.Tests.Infrastructure;
using static TorchSharp.torch;

namespace ZipIt.Tests.Train;

/// <summary>
/// <c>train</c> on a tiny ViT (no BatchNorm, 1-channel 28×28 images as 3-channel 32×32 inputs,
/// class-embedding and logit heads, AdamW with warm-up and cosine decay), and fine-tuning with
/// <c>--init</c>: the run starts from the given weights, keeps a head that fits the task, re-initialises
/// one that does not, records where it started, and refuses a model of another shape.
/// </summary>
[Trait("Category", Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class VitTrainTests : IDisposable
{
    private static readonly string[] Tiny = ["--arch-set", "width=32", "--arch-set", "depth=1", "--arch-set", "heads=2", "--arch-set", "mlp_ratio=2"];
    private readonly TempDirectory _dir = new("zipit-vit-train");
    private readonly string _data;

    public VitTrainTests()
    {
        _data = Path.Combine(_dir.Path, "squares");
        SyntheticIdx.Write(_data, classes: 4, trainPerClass: 60, testPerClass: 10);
    }

    public void Dispose() => _dir.Dispose();

    private CliResult Train(string output, params string[] extra) =>
        TrainCli.Run(["train", "vit-custom", "-o", output, .. Tiny, "--optimizer", "adamw", "--schedule", "cosine", "--warmup", "0.1"],
            [("--data", $"{_data}:0-3"), ("--epochs", "4"), ("--batch-size", "16"), ("--lr", "0.003"), ("--crop-padding", "0")], [.. extra, "--json"]);

    private static (double Loss, double Validation) Result(CliResult r)
    {
        Assert.True(r.ExitCode == 0, r.ToString());
        using var doc = JsonDocument.Parse(r.Out);
        var result = doc.RootElement.GetProperty("result");
        return (result.GetProperty("loss").GetDouble(), result.GetProperty("validationAccuracy").GetDouble());
    }

    [Theory]
    [InlineData("clip")]
    [InlineData("logits")]
    public void A_tiny_vit_learns_its_loss_falls_and_it_beats_chance(string head)
    {
        var (untrained, _) = Result(Train(_dir.File("still.safetensors"), "--head", head, "--epochs", "1", "--lr", "1e-9"));
        var (loss, validation) = Result(Train(_dir.File("m.safetensors"), "--head", head, "--label-smoothing", "0.05", "--clip-grad-norm", "1"));
        Assert.True(loss < 0.7 * untrained, $"loss {loss} after training, {untrained} untrained");
        // Four classes: chance is 25 %. In 4 short epochs the ViT learns where the square is (50 %),
        // not yet always whether it is striped.
        Assert.True(validation >= 0.45, $"validation accuracy {validation}");
        using var file = Checkpoint.Open(_dir.File("m.safetensors"));
        Assert.Equal("vit", file.Metadata["zipit.architecture"]);
        Assert.Equal([32L, 3, 4, 4], file.Read("patch_embed.proj.weight").shape);
        Assert.Equal(head == "clip" ? 128L : 4L, file.Read("head.weight").shape[0]);
    }

    [Fact]
    public void Init_starts_from_the_given_weights_keeps_a_fitting_head_and_records_its_source()
    {
        var pretrained = _dir.File("pre.safetensors");
        Result(Train(pretrained, "--epochs", "1", "--seed", "5"));
        // lr ≈ 0: the fine-tuned model is its starting point, so that point must be the --init model.
        var tuned = _dir.File("tuned.safetensors");
        Result(Train(tuned, "--epochs", "1", "--lr", "1e-9", "--init", pretrained, "--data", $"{_data}:2-3"));
        using var pre = Checkpoint.Open(pretrained);
        using var ft = Checkpoint.Open(tuned);
        foreach (var name in pre.Entries.Select(e => e.Name))
            Assert.True(pre.Read(name).allclose(ft.Read(name), rtol: 0, atol: 1e-6), $"{name} moved away from the --init weights");
        using var meta = JsonDocument.Parse(ft.Metadata["zipit.initialized_from"]);
        Assert.Equal("pre.safetensors", meta.RootElement.GetProperty("file").GetString());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(pretrained))), meta.RootElement.GetProperty("sha256").GetString());
        Assert.Equal("kept", meta.RootElement.GetProperty("head").GetString());

        // A fresh model of another seed is far from it: the equality above is not a coincidence of seeds.
        var fresh = _dir.File("fresh.safetensors");
        Result(Train(fresh, "--epochs", "1", "--lr", "1e-9", "--seed", "9"));
        using var other = Checkpoint.Open(fresh);
        Assert.False(pre.Read("blocks.0.attn.qkv.weight").allclose(other.Read("blocks.0.attn.qkv.weight"), rtol: 0, atol: 1e-3));
    }

    [Fact]
    public void Init_re_initialises_a_head_that_does_not_fit_the_task()
    {
        var pretrained = _dir.File("pre.safetensors");
        Result(Train(pretrained, "--epochs", "1"));
        var tuned = _dir.File("tuned.safetensors");
        Result(Train(tuned, "--epochs", "1", "--lr", "1e-9", "--init", pretrained, "--head", "logits"));
        using var pre = Checkpoint.Open(pretrained);
        using var ft = Checkpoint.Open(tuned);
        Assert.True(pre.Read("blocks.0.mlp.fc1.weight").allclose(ft.Read("blocks.0.mlp.fc1.weight"), rtol: 0, atol: 1e-6));
        Assert.Equal([128L, 32], pre.Read("head.weight").shape);
        Assert.Equal([4L, 32], ft.Read("head.weight").shape);
        using var meta = JsonDocument.Parse(ft.Metadata["zipit.initialized_from"]);
        Assert.Equal("reinitialised", meta.RootElement.GetProperty("head").GetString());
    }

    [Theory]
    [InlineData("vit", "depth 1 ≠ 2")]
    [InlineData("resnet", "is a vit model (vit-custom), this run trains a resnet (resnet20)")]
    public void Init_refuses_a_model_of_another_architecture_or_width(string kind, string message)
    {
        var pretrained = _dir.File("pre.safetensors");
        Result(Train(pretrained, "--epochs", "1", "--lr", "1e-9"));
        var output = _dir.File("out.safetensors");
        var r = kind == "vit"
            ? Tool.Run(["train", "vit-custom", .. Tiny, "--arch-set", "depth=2", "--data", $"{_data}:0-3", "--epochs", "1", "--init", pretrained, "-o", output])
            : Tool.Run("train", "resnet20", "--arch-set", "width=1", "--data", $"{_data}:0-3", "--epochs", "1", "--init", pretrained, "-o", output);
        Assert.True(r.ExitCode == 3, r.ToString());
        Assert.Contains(message, r.Error);
        Assert.Single(r.Error.Trim().Split('\n'));
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Bf16_training_on_the_cpu_is_refused()
    {
        var output = _dir.File("m.safetensors");
        var r = Tool.Run(["train", "vit-custom", .. Tiny, "--data", $"{_data}:0-3", "--precision", "bf16", "--device", "cpu", "-o", output]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--precision bf16 needs a GPU", r.Error);
        Assert.False(File.Exists(output));
    }
}
