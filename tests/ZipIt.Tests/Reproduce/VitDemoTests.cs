using System.Text.Json;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Core;
using ZipIt.Engine.Reproduce;
using ZipIt.Engine.Train;
using ZipIt.Tests.Infrastructure;

namespace ZipIt.Tests.Reproduce;

/// <summary>
/// <c>demo --arch vit</c> on the example ViT pair that ships with zipit (<c>samples/vit-pair</c>):
/// the pair is what its README says, and the demo merges it with every ViT row, REPAIR and refit
/// rows included by default, at a size that runs in about a minute.
/// </summary>
[Trait("Category", Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class VitDemoTests : IDisposable
{
    private readonly TempDirectory _dir = new("zipit-vit-demo");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void The_example_vit_pair_is_two_4_head_fine_tunes_of_the_start_that_ships_beside_them()
    {
        var pair = GivenModels.DemoPair("vit");
        Assert.NotNull(pair);
        var folder = Path.GetDirectoryName(pair![0])!;
        var start = Path.Combine(folder, "start.safetensors");
        Assert.True(File.Exists(start), "the shared start ships beside the pair");
        Assert.True(Directory.GetFiles(folder).Sum(f => new FileInfo(f).Length) <= 20_000_000);
        string[] tasks = ["fashion-mnist:0-4", "fashion-mnist:5-9"];
        for (var i = 0; i < 2; i++)
        {
            using var checkpoint = Checkpoint.Open(pair[i]);
            Assert.Equal(tasks[i], checkpoint.Metadata[MetadataKeys.Task]);
            Assert.Equal("vit", checkpoint.Metadata[MetadataKeys.Architecture]);
            Assert.Contains("\"heads\":\"4\"", checkpoint.Metadata[MetadataKeys.Config]);
            Assert.All(checkpoint.Entries, e => Assert.Equal("F16", e.DType));
            using var from = JsonDocument.Parse(checkpoint.Metadata["zipit.initialized_from"]);
            Assert.Equal("kept", from.RootElement.GetProperty("head").GetString());
            Assert.Equal(TrainHead.Clip, TrainingRecipe.FromMetadata(checkpoint.Metadata, checkpoint.Path)!.Head);
        }
        using var startCheckpoint = Checkpoint.Open(start);
        Assert.Equal("mnist:all", startCheckpoint.Metadata[MetadataKeys.Task]);
    }

    [Fact]
    public void Demo_arch_vit_merges_the_example_vit_pair_with_every_row_and_its_stages()
    {
        var output = _dir.File("out");
        var r = Tool.Run("demo", "--arch", "vit", "--calibration", "100", "--validation-images", "100", "--test-images", "200",
            "--alphas", "0.5", "--betas", "0.5", "-o", output);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("Models: the example pair that ships with zipit (vit-custom trained by 'zipit train', stored as float16", r.Out);
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "report.json")));
        var root = report.RootElement;
        Assert.Equal(GivenModels.DemoPair("vit"), root.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("path").GetString()!).ToArray());
        var labels = root.GetProperty("results").EnumerateArray().Select(row => row.GetProperty("label").GetString()).ToList();
        // Depth 4: 18 layers; every merge, tied and untied, full and partial, followed by itself refit and repaired.
        string[] full = ["W.Avg", "Permute", "Permute (untied)", "ZipIt!18/18", "MuDSC-zip", "MuDSC-align", "MuDSC-align (untied)"];
        string[] WithStages(IEnumerable<string> merges) => [.. merges.SelectMany(f => new[] { f, $"{f} + refit", $"{f} + repair" })];
        Assert.Equal(["Model A", "Model B", .. WithStages(full), "Ensemble", .. WithStages(["ZipIt!13/18", "ZipIt!5/18"])], labels);
        Assert.Equal("vit", root.GetProperty("options").GetProperty("arch").GetString());
        foreach (var file in new[] { "report.md", "stop-points.png", "alpha-beta-grid.png" })
            Assert.True(File.Exists(Path.Combine(output, file)), file);
    }

    [Fact]
    public void Its_stages_can_be_left_out()
    {
        var output = _dir.File("plain");
        var r = Tool.Run("demo", "--arch", "vit", "--refit", "none", "--repair", "false", "--calibration", "100", "--validation-images", "100",
            "--test-images", "200", "--alphas", "0.5", "--betas", "0.5", "--json", "-o", output);
        Assert.True(r.ExitCode == 0, r.ToString());
        using var report = JsonDocument.Parse(r.Out);
        Assert.DoesNotContain(report.RootElement.GetProperty("results").EnumerateArray(), row => row.GetProperty("label").GetString()!.Contains(" + "));
    }

    [Fact]
    public void A_training_option_without_train_names_the_example_pair()
    {
        var r = Tool.Run("demo", "--arch", "vit", "--heads", "2", "-o", _dir.File("out"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--heads shapes training, and demo merges the example pair as it is", r.Error);
        Assert.False(Directory.Exists(_dir.File("out")));
    }
}
