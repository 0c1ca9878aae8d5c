using ZipIt.Tests.Infrastructure;
using System.Text.Json;
using ZipIt.Engine.Checkpoints;
using ZipIt.Commands;
using ZipIt.Engine.Core;
using ZipIt.Engine.Train;
using ZipIt.Engine.Reproduce;

namespace ZipIt.Tests.Reproduce;

/// <summary>
/// <c>demo</c> end to end on the real Fashion-MNIST (installed by ./setup.sh, which ./test.sh runs),
/// scaled down to seconds: the whole protocol runs, the report has its stable shape, and a second
/// run reuses the cached models and reproduces every number.
/// </summary>
[Trait("Category", Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class DemoTests : IDisposable
{
    private readonly TempDirectory _dir = new("zipit-demo");

    public void Dispose() => _dir.Dispose();

    /// <summary>The accuracy tables of a report.md (blocks of lines starting with "| Method |"), up to the α × β grid.</summary>
    private static List<string> Tables(string markdown)
    {
        var body = markdown[..markdown.IndexOf("## α × β grid", StringComparison.Ordinal)];
        var tables = new List<string>();
        foreach (var block in body.Split("\n\n"))
            if (block.TrimStart().StartsWith("| Method |", StringComparison.Ordinal)) tables.Add(block.Trim() + "\n");
        return tables;
    }

    private CliResult Demo(string output, params string[] extra) => Tool.Run([
        "demo", "--train", "--epochs", "1", "--train-images", "256", "--batch-size", "64", "--calibration", "100", "--validation-images", "100",
        "--test-images", "200", "--alphas", "0.5", "--betas", "0.5", "1", "--cache", _dir.File("cache"), "-o", output, .. extra]);

    [Fact]
    public void The_demo_runs_the_protocol_writes_a_stable_report_and_reuses_its_models()
    {
        var first = Demo(_dir.File("one"));
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("| Method | FLOPs (G) | Joint | Task A | Task B | Avg |", first.Out);
        // One pair: the accuracies alone, not a ±0.0 that reads like a measured spread.
        Assert.DoesNotContain("±", first.Out);
        Assert.Contains($"report: {_dir.File("one")}/report.json", first.Out);
        Assert.Contains("chance is 10 % joint (10 classes) and 20 % per task (5 classes each). The Ensemble runs all 2 base models", first.Out);
        foreach (var file in new[] { "report.json", "report.md", "stop-points.png", "alpha-beta-grid.png" })
            Assert.True(File.Exists(Path.Combine(_dir.File("one"), file)), file);

        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir.File("one"), "report.json")));
        var root = report.RootElement;
        Assert.Equal(1, root.GetProperty("version").GetInt32());
        Assert.Equal("fmnist-5+5", root.GetProperty("setting").GetString());
        var rows = root.GetProperty("results").EnumerateArray().ToDictionary(r => r.GetProperty("label").GetString()!);
        foreach (var label in new[] { "Model A", "Model B", "W.Avg", "Permute", "ZipIt!20/20", "Ensemble", "ZipIt!13/20", "ZipIt!7/20" })
            Assert.True(rows.ContainsKey(label), $"no row {label}");
        foreach (var row in rows.Values)
        {
            foreach (var stat in new[] { row.GetProperty("joint"), row.GetProperty("avg") }.Concat(row.GetProperty("tasks").EnumerateObject().Select(t => t.Value)))
            {
                Assert.InRange(stat.GetProperty("mean").GetDouble(), 0, 100);
                Assert.Equal(0, stat.GetProperty("std").GetDouble());
            }
            Assert.Equal(["fashion-mnist:0-4", "fashion-mnist:5-9"], row.GetProperty("tasks").EnumerateObject().Select(t => t.Name).ToArray());
        }
        long Flops(string label) => rows[label].GetProperty("flops").GetInt64();
        Assert.Equal(Flops("Model A"), Flops("ZipIt!20/20"));
        Assert.Equal(2 * Flops("Model A"), Flops("Ensemble"));
        Assert.InRange(Flops("ZipIt!13/20"), Flops("ZipIt!20/20") + 1, Flops("ZipIt!7/20") - 1);
        Assert.Equal("zipit", rows["ZipIt!13/20"].GetProperty("method").GetString());
        Assert.Equal("13", rows["ZipIt!13/20"].GetProperty("stop").GetString());
        var grid = root.GetProperty("hyperparameters").GetProperty("grid").EnumerateArray().ToList();
        Assert.Equal(2, grid.Count);
        Assert.Equal(0.5, root.GetProperty("hyperparameters").GetProperty("alpha").GetDouble());
        Assert.All(root.GetProperty("models").EnumerateArray(), m => Assert.False(m.GetProperty("cached").GetBoolean()));
        // Every model records the demo's recipe with this test's overrides, its logit scale resolved.
        var expected = ReproduceCommand.DemoDefaults.ResolvedRecipe() with { Epochs = 1, BatchSize = 64 };
        foreach (var m in root.GetProperty("models").EnumerateArray())
        {
            using var checkpoint = Checkpoint.Open(m.GetProperty("path").GetString()!);
            Assert.Equal(expected, TrainingRecipe.FromMetadata(checkpoint.Metadata, checkpoint.Path));
        }

        var second = Demo(_dir.File("two"));
        Assert.True(second.ExitCode == 0, second.ToString());
        using var again = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir.File("two"), "report.json")));
        Assert.All(again.RootElement.GetProperty("models").EnumerateArray(), m => Assert.True(m.GetProperty("cached").GetBoolean()));
        Assert.Equal(root.GetProperty("results").GetRawText(), again.RootElement.GetProperty("results").GetRawText());
        Assert.Equal(root.GetProperty("hyperparameters").GetRawText(), again.RootElement.GetProperty("hyperparameters").GetRawText());
    }

    /// <summary>
    /// The demo as a user runs it, at its shipped settings (about 7 minutes on 2 cores): it merges the
    /// example pair, and its tables are the README's, so the published figures are the program's.
    /// </summary>
    [Fact]
    public void Without_train_the_demo_merges_the_example_pair_as_it_ships_and_gives_the_readmes_tables()
    {
        var pair = GivenModels.DemoPair();
        Assert.NotNull(pair);
        var r = Tool.Run("demo", "-o", _dir.File("shipped"));
        Assert.True(r.ExitCode == 0, r.ToString());
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir.File("shipped"), "report.json")));
        var models = report.RootElement.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("path").GetString()!).ToArray();
        Assert.Equal(pair, models);
        var markdown = File.ReadAllText(Path.Combine(_dir.File("shipped"), "report.md")).Replace("\r\n", "\n");
        var readme = File.ReadAllText(Path.Combine(Repository.Root, "README.md")).Replace("\r\n", "\n");
        var tables = Tables(markdown);
        Assert.Equal(2, tables.Count);
        // The main table and the base models as trained, each exactly as the README prints them.
        foreach (var table in tables)
            Assert.True(readme.Contains(table, StringComparison.Ordinal),
                $"README.md's demo tables are not the program's; the demo printed:\n{table}\n(update the README section 'Reproducing the paper' from report.md)");
        var rows = report.RootElement.GetProperty("results").EnumerateArray().ToDictionary(x => x.GetProperty("label").GetString()!);
        Assert.True(rows["Model A"].GetProperty("tasks").GetProperty("fashion-mnist:0-4").GetProperty("mean").GetDouble() > 60);
        Assert.True(rows["Model B"].GetProperty("tasks").GetProperty("fashion-mnist:5-9").GetProperty("mean").GetDouble() > 60);
        Assert.Contains("the given checkpoints `a.safetensors`, `b.safetensors`", File.ReadAllText(Path.Combine(_dir.File("shipped"), "report.md")));
        // The base rows are measured after the BatchNorm reset every merge gets (ZipIt! §5); the
        // figures as trained are kept beside them, and differ (the pair's statistics are each
        // model's own task's, not the mixed calibration images').
        foreach (var label in new[] { "Model A", "Model B", "Ensemble" })
        {
            var asTrained = rows[label].GetProperty("asTrained");
            Assert.NotEqual(rows[label].GetProperty("joint").GetProperty("mean").GetDouble(), asTrained.GetProperty("joint").GetProperty("mean").GetDouble());
            Assert.Equal(2, asTrained.GetProperty("tasks").EnumerateObject().Count());
        }
        Assert.False(rows["ZipIt!20/20"].TryGetProperty("asTrained", out _));
        Assert.Contains("## Base models as trained", File.ReadAllText(Path.Combine(_dir.File("shipped"), "report.md")));
    }

    [Fact]
    public void The_example_pair_is_a_recognised_resnet20x4_pair_that_records_its_recipe_and_task()
    {
        var pair = GivenModels.DemoPair()!;
        string[] tasks = ["fashion-mnist:0-4", "fashion-mnist:5-9"];
        for (var i = 0; i < 2; i++)
        {
            using var checkpoint = Checkpoint.Open(pair[i]);
            Assert.Equal(tasks[i], checkpoint.Metadata[MetadataKeys.Task]);
            Assert.Equal("resnet20", checkpoint.Metadata[MetadataKeys.Variant]);
            Assert.Contains("\"width\":\"4\"", checkpoint.Metadata[MetadataKeys.Config]);
            var recipe = TrainingRecipe.FromMetadata(checkpoint.Metadata, checkpoint.Path);
            Assert.NotNull(recipe);
            Assert.Equal(TrainHead.Clip, recipe!.Head);
        }
        var inspect = Tool.Run("inspect", pair[0], "--json");
        Assert.True(inspect.ExitCode == 0, inspect.ToString());
        Assert.Contains("resnet20", inspect.Out);
    }

    [Theory]
    [InlineData("--width", "2")]
    [InlineData("--epochs", "5")]
    public void Training_options_without_train_are_a_usage_error(string option, string value)
    {
        var r = Tool.Run("demo", option, value, "-o", _dir.File("out"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{option} shapes training", r.Error);
        Assert.Contains("add --train", r.Error);
        Assert.False(Directory.Exists(_dir.File("out")));
    }

    [Fact]
    public void Given_models_in_the_wrong_order_or_number_are_refused_before_any_work()
    {
        var pair = GivenModels.DemoPair()!;
        var swapped = Tool.Run("reproduce", "fmnist-5+5", "--models", pair[1], pair[0], "-o", _dir.File("out"));
        Assert.Equal(3, swapped.ExitCode);
        Assert.Contains("b.safetensors: trained on fashion-mnist:5-9, but model A of fmnist-5+5 is for fashion-mnist:0-4", swapped.Error);
        var one = Tool.Run("reproduce", "fmnist-5+5", "--models", pair[0], "-o", _dir.File("out"));
        Assert.Equal(2, one.ExitCode);
        Assert.Contains("needs 2 checkpoints in that order, got 1", one.Error);
        Assert.False(Directory.Exists(_dir.File("out")));
    }

    [Fact]
    public void An_unknown_setting_is_a_usage_error_that_lists_the_settings()
    {
        var r = Tool.Run("reproduce", "cifar-5+5", "-o", _dir.File("out"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("unknown setting 'cifar-5+5' (settings: fmnist-5+5, fmnist+mnist)", r.Error);
        Assert.False(Directory.Exists(_dir.File("out")));
    }

    [Fact]
    public void An_alpha_a_method_refuses_fails_before_any_training()
    {
        var r = Tool.Run("demo", "--train", "--alphas", "1.5", "--cache", _dir.File("cache"), "-o", _dir.File("out"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("'alpha' must be in (0, 1], got 1.5", r.Error);
        Assert.False(Directory.Exists(_dir.File("cache")));
        Assert.False(Directory.Exists(_dir.File("out")));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    public void A_non_positive_logit_scale_is_a_usage_error_before_any_training(string scale)
    {
        var r = Tool.Run("demo", "--train", "--logit-scale", scale, "--cache", _dir.File("cache"), "-o", _dir.File("out"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--logit-scale must be a positive number", r.Error);
        Assert.False(Directory.Exists(_dir.File("cache")));
        Assert.False(Directory.Exists(_dir.File("out")));
    }

    [Fact]
    public void A_bad_norm_is_a_usage_error()
    {
        var r = Demo(_dir.File("out"), "--norm", "ln");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("setting 'norm' must be 'bn' or 'gn', got 'ln'", r.Error);
        Assert.False(Directory.Exists(_dir.File("out")));
    }

    [Fact]
    public void A_missing_dataset_says_how_to_install_it_and_writes_nothing()
    {
        var previous = Environment.GetEnvironmentVariable("ZIPIT_CACHE");
        Environment.SetEnvironmentVariable("ZIPIT_CACHE", _dir.File("empty-cache"));
        try
        {
            var r = Tool.Run("reproduce", "fmnist+mnist", "--cache", _dir.File("cache"), "-o", _dir.File("out"));
            Assert.Equal(3, r.ExitCode);
            Assert.Contains("dataset 'mnist' is not installed", r.Error);
            Assert.Contains("./setup.sh", r.Error);
            Assert.False(Directory.Exists(_dir.File("out")));
        }
        finally
        {
            Environment.SetEnvironmentVariable("ZIPIT_CACHE", previous);
        }
    }
}
