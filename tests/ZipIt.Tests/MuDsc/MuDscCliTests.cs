using System.Text.Json;
using TorchSharp;
using ZipIt.Checkpoints;
using ZipIt.Tests.Cli;
using ZipIt.Tests.ResNet;
using static TorchSharp.torch;

namespace ZipIt.Tests.MuDsc;

/// <summary>
/// mudsc through the CLI, loaded as a plugin: merging a ResNet-20 with a function-preserving
/// permuted copy of itself gives the original function back (§16.6 a) for BatchNorm and GroupNorm
/// (grouped points) in both modes, with and without data; bad input is one line and exit 2.
/// As in the built-in recovery tests the models are fresh, BatchNorm is reset on the calibration
/// images so every unit carries signal, and merge-eps is 0 for exact averages.
/// </summary>
public sealed class MuDscCliTests
{
    private sealed record Pair(TempDirectory Dir, string A, string B, string Calibration, string Test, string Expected);

    private static Pair Models(string norm)
    {
        var dir = new TempDirectory();
        var calibration = Images(dir, "calibration.safetensors", 24, seed: 1);
        var test = Images(dir, "test.safetensors", 6, seed: 2, name: "input");
        var config = ResNetTestUtil.Architecture.Configure("resnet20", new Dictionary<string, string> { ["norm"] = norm, ["classes"] = "10" });
        torch.manual_seed(7);
        using (var model = ResNetTestUtil.Architecture.Create(config))
            CheckpointWriter.WriteFile(dir.File("a0.safetensors"), model.state_dict());
        var a = dir.File("a.safetensors");
        Run("reset-bn", dir.File("a0.safetensors"), "--data", calibration, "-o", a);
        var b = dir.File("b.safetensors");
        using (var file = Checkpoint.Open(a))
            CheckpointWriter.WriteFile(b, GraphPermutation.Apply(file.ReadAll(), ResNetTestUtil.Architecture.Describe(config), seed: 31));
        var expected = dir.File("expected.safetensors");
        Run("predict", a, "-i", test, "-o", expected);
        return new Pair(dir, a, b, calibration, test, expected);
    }

    private static double Difference(Pair pair, string merged)
    {
        var predict = Run("predict", merged, "-i", pair.Test, "-o", pair.Dir.File("out.safetensors"), "--compare", pair.Expected, "--json");
        return JsonDocument.Parse(predict.Out).RootElement.GetProperty("maxAbsDifference").GetDouble();
    }

    /// <summary>collect → match (--models, --set) → zip, as a user would run the stages.</summary>
    [Theory]
    [InlineData("bn", "zip")]
    [InlineData("bn", "align")]
    [InlineData("gn", "zip")]
    [InlineData("gn", "align")]
    public void A_permuted_copy_is_recovered_through_match(string norm, string mode)
    {
        var pair = Models(norm);
        using var _ = pair.Dir;
        var metrics = pair.Dir.File("metrics.safetensors");
        Run("collect", pair.A, pair.B, "--data", pair.Calibration, "-o", metrics, "--reset-bn", "false");
        var matches = pair.Dir.File("matches.safetensors");
        var match = Run("match", metrics, "-o", matches, "--matcher", "mudsc", "--models", pair.A, pair.B,
            "--set", $"mode={mode}", "--set", "balance=0.7", "--set", "merge-eps=0", "--verbosity", "d");
        Assert.Contains("mudsc: sweep 1: objective", match.Error);
        var merged = pair.Dir.File("merged.safetensors");
        Run("zip", pair.A, pair.B, "--matches", matches, "-o", merged);
        var difference = Difference(pair, merged);
        Assert.True(difference <= 1e-4, $"mudsc {mode} on {norm}: max abs difference {difference}");
    }

    /// <summary>balance 1 is data-free: merge without --data (no BatchNorm reset) still recovers the function.</summary>
    [Theory]
    [InlineData("bn", "align")]
    [InlineData("gn", "zip")]
    public void Weight_only_merge_needs_no_data(string norm, string mode)
    {
        var pair = Models(norm);
        using var _ = pair.Dir;
        var merged = pair.Dir.File("merged.safetensors");
        var result = Run("merge", "--models", pair.A, pair.B, "--matcher", "mudsc", "--balance", "1", "--mode", mode,
            "--set", "merge-eps=0", "-o", merged);
        Assert.Contains("no calibration data", result.Error);
        var difference = Difference(pair, merged);
        Assert.True(difference <= 1e-4, $"weight-only mudsc {mode} on {norm}: max abs difference {difference}");
    }

    [Fact]
    public void Bad_input_is_one_line_and_exit_2()
    {
        using var dir = new TempDirectory();
        var config = ResNetTestUtil.Architecture.Configure("resnet20", new Dictionary<string, string> { ["classes"] = "10" });
        foreach (var (file, seed) in new[] { ("a.safetensors", 1L), ("b.safetensors", 2L) })
        {
            torch.manual_seed(seed);
            using var model = ResNetTestUtil.Architecture.Create(config);
            CheckpointWriter.WriteFile(dir.File(file), model.state_dict());
        }
        var a = dir.File("a.safetensors");
        var b = dir.File("b.safetensors");
        var calibration = Images(dir, "calibration.safetensors", 8, seed: 1);
        var metrics = dir.File("metrics.safetensors");
        Run("collect", a, b, "--data", calibration, "-o", metrics);
        var output = dir.File("out.safetensors");

        var cases = new (string[] Args, string Message)[]
        {
            (["merge", "--models", a, b, "--data", calibration, "--matcher", "mudsc", "--balance", "1.5", "-o", output], "'balance' must be between 0 and 1"),
            (["merge", "--models", a, b, "--data", calibration, "--matcher", "mudsc", "--set", "balance=-1", "-o", output], "'balance' must be between 0 and 1"),
            (["merge", "--models", a, b, "--matcher", "mudsc", "--balance", "0.5", "-o", output], "merge needs calibration data"),
            (["merge", "--models", a, b, "--matcher", "mudsc", "-o", output], "merge needs calibration data"),
            (["match", metrics, "-o", output, "--matcher", "mudsc"], "pass the 2 checkpoints with --models"),
            (["match", metrics, "-o", output, "--matcher", "mudsc", "--mode", "merge", "--models", a, b], "'mode' must be zip or align"),
            (["match", metrics, "-o", output, "--matcher", "zipit", "--balance", "0.5"], "unknown matcher setting 'balance'"),
            (["merge", "--models", a, b, "--data", calibration, "--matcher", "permute", "--mode", "align", "-o", output], "unknown matcher setting 'mode'"),
        };
        foreach (var (args, message) in cases)
        {
            var result = Tool.Run(args);
            Assert.True(result.ExitCode == 2, $"{string.Join(" ", args.Skip(1).Where(x => !x.StartsWith('/')))}: {result}");
            ExitCodeTests.AssertOneErrorLine(result, message);
        }
        Assert.False(File.Exists(output));
    }

    private static string Images(TempDirectory dir, string file, int count, ulong seed, string name = "images")
    {
        var path = dir.File(file);
        using var images = torch.randn([count, 3, 32, 32], generator: new Generator(seed));
        CheckpointWriter.WriteFile(path, [new(name, images)]);
        return path;
    }

    private static CliResult Run(params string[] args)
    {
        var result = Tool.Run(args);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }
}
