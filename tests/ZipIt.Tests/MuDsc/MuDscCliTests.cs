using ZipIt.Tests.Infrastructure;
using TorchSharp;
using ZipIt.Engine.Checkpoints;
using ZipIt.Tests.Cli;
using ZipIt.Tests.Engine;
using ZipIt.Tests.ResNet;
using static TorchSharp.torch;
using ZipIt.Engine.Core;

namespace ZipIt.Tests.MuDsc;

/// <summary>
/// mudsc through the CLI, loaded as a plugin: merging a ResNet-20 with a function-preserving
/// permuted copy of itself gives the original function back (§16.6 a) for BatchNorm and GroupNorm
/// (grouped points) in both modes, with and without data; bad input is one line and exit 2.
/// As in the built-in recovery tests the models are fresh, BatchNorm is reset on the calibration
/// images so every unit carries signal, and merge-eps is 0 for exact averages.
/// </summary>
[Trait("Category", Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class MuDscCliTests
{
    private static (TempDirectory Dir, PermutationRecoveryTests.PermutedPair Pair) Models(string norm)
    {
        var dir = new TempDirectory();
        return (dir, PermutationRecoveryTests.PermutedPair.Create(dir, "resnet20", new Dictionary<string, string> { ["norm"] = norm }, 32));
    }

    /// <summary>collect → match (--models, --set) → zip, as a user would run the stages.</summary>
    [Theory]
    [InlineData("bn", "zip")]
    [InlineData("bn", "align")]
    [InlineData("gn", "zip")]
    [InlineData("gn", "align")]
    public void A_permuted_copy_is_recovered_through_match(string norm, string mode)
    {
        var (dir, pair) = Models(norm);
        using var _ = dir;
        var metrics = dir.File("metrics.safetensors");
        Run("collect", pair.A, pair.B, "--data", pair.Calibration, "-o", metrics, "--reset-bn", "false");
        var matches = dir.File("matches.safetensors");
        var match = Run("match", metrics, "-o", matches, "--matcher", "mudsc", "--models", pair.A, pair.B,
            "--set", $"mode={mode}", "--set", "balance=0.7", "--set", "merge-eps=0", "--verbosity", "d");
        Assert.Contains("mudsc: sweep 1: objective", match.Error);
        var merged = dir.File("merged.safetensors");
        Run("zip", pair.A, pair.B, "--matches", matches, "-o", merged);
        var difference = pair.Difference(dir, merged);
        Assert.True(difference <= 1e-4, $"mudsc {mode} on {norm}: max abs difference {difference}");
    }

    /// <summary>balance 1 is data-free: merge without --data (no BatchNorm reset) still recovers the function.</summary>
    [Theory]
    [InlineData("bn", "align")]
    [InlineData("gn", "zip")]
    public void Weight_only_merge_needs_no_data(string norm, string mode)
    {
        var (dir, pair) = Models(norm);
        using var _ = dir;
        var merged = dir.File("merged.safetensors");
        var result = Run("merge", "--models", pair.A, pair.B, "--matcher", "mudsc", "--set", "balance=1", "--preset", mode,
            "--set", "merge-eps=0", "-o", merged);
        Assert.Contains("no calibration data", result.Error);
        var difference = pair.Difference(dir, merged);
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
        var calibration = PermutationRecoveryTests.Images(dir, "calibration.safetensors", 8, 32, seed: 1);
        var metrics = dir.File("metrics.safetensors");
        Run("collect", a, b, "--data", calibration, "-o", metrics);
        var output = dir.File("out.safetensors");

        var cases = new (string[] Args, string Message)[]
        {
            (["merge", "--models", a, b, "--data", calibration, "--matcher", "mudsc", "--set", "balance=1.5", "-o", output], "'balance' must be between 0 and 1"),
            (["merge", "--models", a, b, "--data", calibration, "--matcher", "mudsc", "--set", "balance=-1", "-o", output], "'balance' must be between 0 and 1"),
            (["merge", "--models", a, b, "--matcher", "mudsc", "--set", "balance=0.5", "-o", output], "merge needs calibration data"),
            (["merge", "--models", a, b, "--matcher", "mudsc", "-o", output], "merge needs calibration data"),
            (["match", metrics, "-o", output, "--matcher", "mudsc"], "pass the 2 checkpoints with --models"),
            (["match", metrics, "-o", output, "--matcher", "mudsc", "--set", "mode=merge", "--models", a, b], "'mode' must be zip or align"),
            (["match", metrics, "-o", output, "--matcher", "mudsc", "--set", "sweep-order=sorted", "--models", a, b], "'sweep-order' must be randperm or shuffle"),
            (["match", metrics, "-o", output, "--matcher", "zipit", "--set", "balance=0.5"], "unknown matcher setting 'balance'"),
            (["merge", "--models", a, b, "--data", calibration, "--matcher", "permute", "--preset", "align", "-o", output], "matcher permute has no presets"),
        };
        foreach (var (args, message) in cases)
        {
            var result = Tool.Run(args);
            Assert.True(result.ExitCode == 2, $"{string.Join(" ", args.Skip(1).Where(x => !x.StartsWith('/')))}: {result}");
            ExitCodeTests.AssertOneErrorLine(result, message);
        }
        Assert.False(File.Exists(output));
    }

    private static CliResult Run(params string[] args)
    {
        var result = Tool.Run(args);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }
}
