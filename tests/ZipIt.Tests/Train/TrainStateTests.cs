using ZipIt.Engine.Checkpoints;
using ZipIt.Tests.Infrastructure;
using static TorchSharp.torch;

namespace ZipIt.Tests.Train;

/// <summary><c>train --state</c>: a run stopped and resumed ends where an uninterrupted one does.</summary>
[Trait("Category", Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class TrainStateTests : IDisposable
{
    private readonly TempDirectory _dir = new("zipit-train-state");
    private readonly string _data;

    public TrainStateTests()
    {
        _data = Path.Combine(_dir.Path, "squares");
        SyntheticIdx.Write(_data, classes: 4, trainPerClass: 50, testPerClass: 10);
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>train for 2 epochs at batch 16; an option in <paramref name="extra"/> replaces its default.</summary>
    private CliResult Train(string output, params string[] extra) =>
        TrainCli.Run(["train", "resnet20", "--data", $"{_data}:0-3", "-o", output], [("--epochs", "2"), ("--batch-size", "16"), ("--lr", "0.05")], extra);

    private static void AssertSameWeights(string expected, string actual)
    {
        using var a = Checkpoint.Open(expected);
        using var b = Checkpoint.Open(actual);
        Assert.Equal(a.Entries.Select(e => e.Name), b.Entries.Select(e => e.Name));
        foreach (var name in a.Entries.Select(e => e.Name))
        {
            using var x = a.Read(name);
            using var y = b.Read(name);
            Assert.True(x.dtype == y.dtype && x.shape.SequenceEqual(y.shape) && x.eq(y).all().item<bool>(), $"{name} differs after resuming");
        }
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("adamw")]
    public void A_run_stopped_twice_and_resumed_ends_with_the_weights_of_an_uninterrupted_run(string optimizer)
    {
        string[] recipe = optimizer == "sgd" ? [] : ["--optimizer", "adamw", "--lr", "0.003", "--flip"];
        // Writing the state more often than at epochs' ends changes nothing either.
        string[] every = optimizer == "sgd" ? [] : ["--state-every", "2"];
        var uninterrupted = _dir.File("full.safetensors");
        Assert.Equal(0, Train(uninterrupted, recipe).ExitCode);

        // About 11 steps an epoch: the first stop is mid-epoch, the second resumes mid-epoch and stops in the next.
        var resumed = _dir.File("resumed.safetensors");
        var state = _dir.File("state.safetensors");
        var first = Train(resumed, [.. recipe, .. every, "--state", state, "--stop-after", "5"]);
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("stopped after 5 steps, at step 5 of 22", first.Out);
        Assert.False(File.Exists(resumed), "a stopped run wrote a checkpoint");
        Assert.True(File.Exists(state));
        var second = Train(resumed, [.. recipe, .. every, "--state", state, "--stop-after", "9", "--json"]);
        Assert.True(second.ExitCode == 0, second.ToString());
        using (var stop = System.Text.Json.JsonDocument.Parse(second.Out))
        {
            Assert.True(stop.RootElement.GetProperty("stopped").GetBoolean());
            Assert.Equal(14, stop.RootElement.GetProperty("step").GetInt64());
            Assert.Equal(22, stop.RootElement.GetProperty("totalSteps").GetInt64());
        }
        Assert.False(File.Exists(resumed));
        var last = Train(resumed, [.. recipe, "--state", state]);
        Assert.True(last.ExitCode == 0, last.ToString());
        AssertSameWeights(uninterrupted, resumed);
        Assert.Empty(Directory.EnumerateFiles(_dir.Path, "*zipit-tmp*"));
    }

    [Fact]
    public void A_state_of_other_options_is_refused_naming_the_option_that_differs()
    {
        var state = _dir.File("state.safetensors");
        Assert.Equal(0, Train(_dir.File("a.safetensors"), "--state", state, "--stop-after", "2").ExitCode);
        var output = _dir.File("b.safetensors");
        var r = Train(output, "--state", state, "--seed", "3");
        Assert.Equal(3, r.ExitCode);
        Assert.Contains("--state state.safetensors was written by a run with other options (seed: 0 ≠ 3)", r.Error);
        Assert.Single(r.Error.Trim().Split('\n'));
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void A_state_of_other_training_images_is_refused()
    {
        // The same command line (a named dataset found under ZIPIT_DATA) over other pixels: only the
        // images tell. Two roots, because a process reads a dataset folder once.
        var (first, second) = (Path.Combine(_dir.Path, "root1"), Path.Combine(_dir.Path, "root2"));
        SyntheticIdx.Write(Path.Combine(first, "fashion-mnist"), classes: 4, trainPerClass: 50, testPerClass: 10, seed: 1);
        SyntheticIdx.Write(Path.Combine(second, "fashion-mnist"), classes: 4, trainPerClass: 50, testPerClass: 10, seed: 2);
        var state = _dir.File("state.safetensors");
        var output = _dir.File("b.safetensors");
        string[] args = ["train", "resnet20", "--data", "fashion-mnist:0-3", "-o", output, "--epochs", "2", "--batch-size", "16", "--state", state];
        var saved = Environment.GetEnvironmentVariable("ZIPIT_DATA");
        try
        {
            Environment.SetEnvironmentVariable("ZIPIT_DATA", first);
            Assert.Equal(0, Tool.Run([.. args, "--stop-after", "2"]).ExitCode);
            var before = File.ReadAllBytes(state);
            Environment.SetEnvironmentVariable("ZIPIT_DATA", second);
            var r = Tool.Run(args);
            Assert.Equal(3, r.ExitCode);
            Assert.Contains("--state state.safetensors was written for other training images (sha256:", r.Error);
            Assert.Single(r.Error.Trim().Split('\n'));
            Assert.False(File.Exists(output));
            Assert.Equal(before, File.ReadAllBytes(state));
        }
        finally { Environment.SetEnvironmentVariable("ZIPIT_DATA", saved); }
    }

    [Fact]
    public void A_file_that_is_not_a_training_state_is_refused()
    {
        var model = _dir.File("model.safetensors");
        Assert.Equal(0, Train(model, "--epochs", "1").ExitCode);
        var before = File.ReadAllBytes(model);
        var r = Train(_dir.File("out.safetensors"), "--state", model);
        Assert.Equal(3, r.ExitCode);
        Assert.Contains("--state model.safetensors is not a zipit training state", r.Error);
        Assert.Equal(before, File.ReadAllBytes(model));
    }

    [Theory]
    [InlineData("--stop-after 3", "--stop-after needs --state FILE")]
    [InlineData("--state-every 3", "--state-every needs --state FILE")]
    [InlineData("--state STATE --stop-after 0", "--stop-after must be at least 1 step")]
    [InlineData("--state OUT", "--state and --output name the same file")]
    public void Bad_state_options_are_usage_errors(string extra, string message)
    {
        var output = _dir.File("m.safetensors");
        var args = extra.Split(' ').Select(a => a switch { "STATE" => _dir.File("s.safetensors"), "OUT" => output, _ => a }).ToArray();
        var r = Train(output, args);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Error);
        Assert.False(File.Exists(output));
    }
}
