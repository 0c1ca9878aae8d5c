using System.Text.Json;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Train;
using ZipIt.Tests.Infrastructure;

namespace ZipIt.Tests.Reproduce;

/// <summary>
/// <c>reproduce --arch vit</c> on the real Fashion-MNIST and MNIST (installed by ./setup.sh), at a
/// size that runs in about a minute: MuDSC's protocol (one pretrained start per pair, both task
/// models fine-tuned from it) writes every row, tied and untied, and records the shared start;
/// options out of range are usage errors before anything is trained or written.
/// </summary>
[Trait("Category", Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class VitReproduceTests : IDisposable
{
    private readonly TempDirectory _dir = new("zipit-vit-reproduce");

    public void Dispose() => _dir.Dispose();

    /// <summary>reproduce at a tiny size; an option in <paramref name="extra"/> replaces its default.</summary>
    private CliResult Reproduce(string output, params string[] extra)
    {
        List<string> args = ["reproduce", "fmnist-5+5", "--cache", _dir.File("cache"), "-o", output];
        (string, string[])[] defaults =
        [
            ("--arch", ["vit"]), ("--width", ["16"]), ("--depth", ["2"]), ("--heads", ["2"]), ("--arch-set", ["patch=8"]), ("--epochs", ["1"]),
            ("--finetune-epochs", ["1"]), ("--train-images", ["256"]),
            ("--batch-size", ["64"]), ("--calibration", ["100"]), ("--validation-images", ["100"]), ("--test-images", ["200"]),
            ("--alphas", ["0.5"]), ("--betas", ["0.5"]), ("--pairs", ["1"]),
        ];
        foreach (var (option, values) in defaults)
            if (!extra.Contains(option)) args.AddRange([option, .. values]);
        return Tool.Run([.. args, .. extra]);
    }

    [Fact]
    public void A_tiny_vit_run_fine_tunes_both_models_from_one_pretrained_start_and_writes_every_row()
    {
        var output = _dir.File("out");
        var r = Reproduce(output, "--json", "--refit", "teacher", "--repair");
        Assert.True(r.ExitCode == 0, r.ToString());
        foreach (var file in new[] { "report.json", "report.md", "stop-points.png", "alpha-beta-grid.png" })
            Assert.True(File.Exists(Path.Combine(output, file)), file);
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "report.json")));
        var root = report.RootElement;
        Assert.Equal(1, root.GetProperty("version").GetInt32());
        var labels = root.GetProperty("results").EnumerateArray().Select(row => row.GetProperty("label").GetString()).ToList();
        // Depth 2: 10 layers; the partial zips stop after block 1 (layer 5) and after the patch embedding (layer 1).
        // Every merge, full or partial, is followed by itself refit and repaired.
        string[] full = ["W.Avg", "Permute", "Permute (untied)", "ZipIt!10/10", "MuDSC-zip", "MuDSC-align", "MuDSC-align (untied)"];
        string[] WithStages(IEnumerable<string> merges) => [.. merges.SelectMany(f => new[] { f, $"{f} + refit", $"{f} + repair" })];
        Assert.Equal(["Model A", "Model B", .. WithStages(full), "Ensemble", .. WithStages(["ZipIt!5/10", "ZipIt!1/10"])], labels);
        var rows = root.GetProperty("results").EnumerateArray().ToDictionary(row => row.GetProperty("label").GetString()!);
        foreach (var f in full)
        {
            Assert.Equal("teacher", rows[$"{f} + refit"].GetProperty("refit").GetString());
            Assert.True(rows[$"{f} + repair"].GetProperty("repair").GetBoolean());
            Assert.False(rows[f].TryGetProperty("refit", out _));
            Assert.False(rows[f].GetProperty("repair").GetBoolean());
            // The same matcher and settings as the row it follows.
            Assert.Equal(rows[f].GetProperty("settings").ToString(), rows[$"{f} + refit"].GetProperty("settings").ToString());
        }
        // The stages' own rows change the merge: a refit is not the zip it started from.
        Assert.NotEqual(rows["ZipIt!10/10"].GetProperty("pairs")[0].GetProperty("avg").GetDouble(), rows["ZipIt!10/10 + refit"].GetProperty("pairs")[0].GetProperty("avg").GetDouble());
        Assert.True(root.GetProperty("seconds").GetProperty("refit").GetDouble() > 0);
        Assert.True(root.GetProperty("seconds").GetProperty("repair").GetDouble() > 0);
        Assert.Equal("teacher", root.GetProperty("options").GetProperty("refit").GetString());
        Assert.Equal("true", rows["Permute (untied)"].GetProperty("settings").GetProperty("untie-heads").GetString());
        Assert.Equal("true", rows["MuDSC-align (untied)"].GetProperty("settings").GetProperty("untie-heads").GetString());
        Assert.False(rows["MuDSC-align"].GetProperty("settings").TryGetProperty("untie-heads", out _));

        var start = Assert.Single(root.GetProperty("pretrained").EnumerateArray());
        Assert.Equal("mnist:all", start.GetProperty("task").GetString());
        var startFile = Path.GetFileName(start.GetProperty("path").GetString()!);
        // The start trains by the protocol's recipe (lr 2e-3), the fine-tunes by its fine-tuning values (lr 1e-3), both at this run's epochs.
        using (var startCheckpoint = Checkpoint.Open(start.GetProperty("path").GetString()!))
        {
            var startRecipe = TrainingRecipe.FromMetadata(startCheckpoint.Metadata, startCheckpoint.Path)!;
            Assert.Equal((0.002, 1), (startRecipe.LearningRate, startRecipe.Epochs));
        }
        Assert.True(root.GetProperty("seconds").TryGetProperty("pretrain", out _));
        foreach (var m in root.GetProperty("models").EnumerateArray())
        {
            Assert.Equal(startFile, m.GetProperty("initializedFrom").GetString());
            using var checkpoint = Checkpoint.Open(m.GetProperty("path").GetString()!);
            Assert.Equal("vit", checkpoint.Metadata["zipit.architecture"]);
            using var from = JsonDocument.Parse(checkpoint.Metadata["zipit.initialized_from"]);
            Assert.Equal(startFile, from.RootElement.GetProperty("file").GetString());
            Assert.Equal("kept", from.RootElement.GetProperty("head").GetString());
            var recipe = TrainingRecipe.FromMetadata(checkpoint.Metadata, checkpoint.Path)!;
            Assert.Equal((0.001, 1), (recipe.LearningRate, recipe.Epochs));
        }
        Assert.Contains("both task models fine-tuned from it (1 epoch at peak lr 0.001)", File.ReadAllText(Path.Combine(output, "report.md")));
    }

    [Theory]
    [InlineData(new[] { "--arch", "cnn" }, "--arch cnn: no installed architecture has that name")]
    [InlineData(new[] { "--init", "imagenet" }, "--init must be pretrained or scratch, got 'imagenet'")]
    [InlineData(new[] { "--heads", "3" }, "vit-custom: ViT setting 'heads': 3")]
    [InlineData(new[] { "--depth", "0" }, "--depth must be at least 1, got 0")]
    [InlineData(new[] { "--arch-set", "depth=4" }, "--arch-set depth=…: use --depth")]
    [InlineData(new[] { "--init", "scratch", "--finetune-lr", "0.001" }, "--finetune-lr applies to --init pretrained only")]
    [InlineData(new[] { "--init", "scratch", "--finetune-epochs", "2" }, "--finetune-epochs applies to --init pretrained only")]
    [InlineData(new[] { "--finetune-epochs", "0" }, "--finetune-epochs must be at least 1, got 0")]
    [InlineData(new[] { "--arch-set", "patch=5" }, "vit-custom:")]
    [InlineData(new[] { "--refit-ridge", "0.1" }, "--refit-ridge is the refit rows': give --refit too")]
    [InlineData(new[] { "--refit", "bogus" }, "--refit bogus: expected teacher, sequential or none")]
    [InlineData(new[] { "--refit", "teacher", "--refit-ridge", "-1" }, "--refit-ridge -1: the ridge must be a finite number ≥ 0")]
    public void Bad_options_are_usage_errors_before_anything_is_trained(string[] extra, string message)
    {
        var output = _dir.File("out");
        var r = Reproduce(output, extra);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains(message, r.Error);
        Assert.False(Directory.Exists(_dir.File("cache")));
        Assert.False(Directory.Exists(output));
    }
}
