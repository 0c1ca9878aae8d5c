using TorchSharp;
using ZipIt.Engine.Checkpoints;

namespace ZipIt.Tests.Vit;

/// <summary>
/// timm folders (config.json beside the weights) as users bring them: the head count follows the
/// variant the config names, as timm's create_model does, and messages name the folder.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class VitFolderTests : IDisposable
{
    private const string Fixture = "timm_vit_p4_d96_h3_l3";
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// A timm folder holding the 96-wide, 3-head fixture's weights without its num_heads metadata,
    /// whose config.json names vit_tiny_patch16_224 (3 heads, 192 wide) and sets other dimensions
    /// in model_args, as <c>timm.create_model("vit_tiny_patch16_224", embed_dim=96, ...)</c> saves it.
    /// </summary>
    private string Folder(string name)
    {
        var folder = _dir.File(name);
        Directory.CreateDirectory(folder);
        using (var source = Checkpoint.Open(Repository.Fixture("parity", $"{Fixture}.safetensors")))
        {
            var tensors = source.Entries.Select(e => new KeyValuePair<string, torch.Tensor>(e.Name, source.Read(e.Name))).ToList();
            CheckpointWriter.WriteFile(Path.Combine(folder, "model.safetensors"), tensors, new Dictionary<string, string>());
            foreach (var t in tensors) t.Value.Dispose();
        }
        File.WriteAllText(Path.Combine(folder, "config.json"), """
            {"architecture": "vit_tiny_patch16_224", "num_classes": 10,
             "model_args": {"img_size": 32, "patch_size": 4, "embed_dim": 96, "depth": 3},
             "pretrained_cfg": {"input_size": [3, 32, 32], "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "crop_pct": 1.0, "interpolation": "bicubic"}}
            """);
        return folder;
    }

    [Fact]
    public void The_named_variant_gives_the_head_count_when_model_args_changes_the_width()
    {
        var folder = Folder("vit-a");
        var inspect = Tool.Run("inspect", folder);
        Assert.True(inspect.ExitCode == 0, inspect.ToString());
        Assert.Contains("heads: 3, from the variant vit_tiny_patch16_224", inspect.Out);
        var io = Repository.Fixture("parity", $"{Fixture}.io.safetensors");
        var predict = Tool.Run("predict", folder, "-i", io, "-o", _dir.File("out.safetensors"), "--compare", io, "--json");
        Assert.True(predict.ExitCode == 0, predict.ToString());
        Assert.True(System.Text.Json.JsonDocument.Parse(predict.Out).RootElement.GetProperty("maxAbsDifference").GetDouble() < 1e-4, predict.Out);
    }

    [Fact]
    public void A_head_count_contradicting_the_named_variant_is_refused()
    {
        var r = Tool.Run("inspect", Folder("vit-a"), "--arch-set", "heads=6");
        Assert.Equal(3, r.ExitCode);
        Assert.Contains("--arch-set heads=6 contradicts the variant vit_tiny_patch16_224", r.Error);
    }

    [Fact]
    public void A_merge_of_two_folders_names_the_folders()
    {
        var (a, b) = (Folder("vit-a"), Folder("vit-b"));
        var data = _dir.File("calibration.safetensors");
        using (var images = torch.rand([8, 3, 32, 32], generator: new torch.Generator(5)))
            CheckpointWriter.WriteFile(data, [new("images", images)], new Dictionary<string, string>());
        var r = Tool.Run("merge", a, b, "--data", data, "-o", _dir.File("merged"));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("merged vit-a + vit-b", r.Out);
        Assert.DoesNotContain("model.safetensors + model.safetensors", r.Out);
        Assert.Contains("\"vit-a\"", File.ReadAllText(_dir.File("merged/config.json")));
    }
}
