using System.Text.Json;
using TorchSharp;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Matching;
using ZipIt.Tests.Engine;
using ZipIt.Tests.Infrastructure;
using ZipIt.Tests.ResNet;
using static TorchSharp.torch;

namespace ZipIt.Tests.Refit;

/// <summary>
/// <c>refit</c> and <c>merge --refit</c> on the CIFAR fixture and a permuted copy of it: the refit
/// of the exact zip computes the base model's function, the refit is recorded, and every refusal is
/// one line with its exit code and leaves no file behind.
/// </summary>
[Trait("Category", Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class RefitCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _a = Repository.Fixture("parity", "resnet20x2_cifar.safetensors");
    private readonly string _io = Repository.Fixture("parity", "resnet20x2_cifar.io.safetensors");
    private readonly string _b;
    private readonly string _matches;
    private readonly string _calibration;
    private readonly string _merged;

    public RefitCommandTests()
    {
        using var file = Checkpoint.Open(_a);
        var state = file.ReadAll();
        var config = ResNetTestUtil.Architecture.Recognize(ResNetFixtures.Signature(_a))!;
        var graph = ResNetTestUtil.Architecture.Describe(config);
        _b = _dir.File("b.safetensors");
        CheckpointWriter.WriteFile(_b, ZipIt.Testing.GraphPermutation.Apply(state, graph, seed: 17));
        _matches = _dir.File("matches.safetensors");
        MatchesFile.Write(_matches, 2, graph.Spaces.Select(s => s.Name).ToList(), ZipperTests.TrueMatches(graph, seed: 17), "true-permutation", new Dictionary<string, string>());
        _calibration = _dir.File("calibration.safetensors");
        CheckpointWriter.WriteFile(_calibration, [new("images", randn([16, 3, 32, 32], generator: new Generator(3)))]);
        _merged = _dir.File("merged.safetensors");
        Run("zip", _a, _b, "--matches", _matches, "-o", _merged);
    }

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("teacher")]
    [InlineData("sequential")]
    public void Refitting_the_exact_zip_computes_the_base_models_function_with_its_statistics_reset(string variant)
    {
        var output = _dir.File($"refit-{variant}.safetensors");
        var result = Run("refit", _merged, _a, _b, "--matches", _matches, "--data", _calibration, "--variant", variant, "--batch-size", "8", "-o", output, "--json");
        var json = JsonDocument.Parse(result.Out).RootElement;
        Assert.Equal(22, json.GetProperty("layers").GetInt32());
        Assert.Equal(variant == "teacher" ? 1 : 22, json.GetProperty("passes").GetInt32());
        using (var file = Checkpoint.Open(output))
        {
            var refit = JsonDocument.Parse(file.Metadata["zipit.refit"]).RootElement;
            Assert.Equal(variant, refit.GetProperty("variant").GetString());
            Assert.Equal(16, refit.GetProperty("images").GetInt32());
        }
        // Both the base models and the refit model have their BatchNorm reset on the calibration images.
        var reset = _dir.File("a-reset.safetensors");
        Run("reset-bn", _a, "--data", _calibration, "--batch-size", "8", "-o", reset);
        var expected = _dir.File($"expected-{variant}.safetensors");
        Run("predict", reset, "-i", _io, "-o", expected);
        var predict = Run("predict", output, "-i", _io, "-o", _dir.File($"out-{variant}.safetensors"), "--compare", expected, "--json");
        // Sequential: a reset runs in train mode, where each BatchNorm after the first sees inputs normalised
        // by the biased batch variance, n/(n − 1) off the unbiased one eval mode uses; the sequential refit
        // sees eval-mode inputs, so it is exact to that (about 1e-4 of the activations here), not to rounding.
        var tolerance = variant == "teacher" ? 1e-4 : 1e-2;
        Assert.InRange(JsonDocument.Parse(predict.Out).RootElement.GetProperty("maxAbsDifference").GetDouble(), 0, tolerance);
    }

    [Fact]
    public void Refusals_are_one_line_with_their_exit_code_and_leave_nothing_behind()
    {
        var before = _dir.Names();
        var output = _dir.File("out.safetensors");
        string[] good = ["refit", _merged, _a, _b, "--matches", _matches, "--data", _calibration, "-o", output];

        // The matches are of two models; one base model is not what the merged model was zipped from.
        Refused(3, ["refit", _merged, _a, "--matches", _matches, "--data", _calibration, "-o", output], "2 models");
        // Plain least squares with one image cannot determine layer3's weights.
        Refused(3, [.. good, "--ridge", "0", "--images", "1"], "fewer samples than features");
        Refused(2, [.. good, "--ridge", "-1"], "--ridge");
        Refused(2, [.. good, "--variant", "gradient"], "gradient");
        Refused(2, ["refit", _merged, _a, _b, "--matches", _matches, "--data", _calibration, "-o", _merged], "--output");
        Refused(3, ["refit", _dir.File("missing.safetensors"), _a, _b, "--matches", _matches, "--data", _calibration, "-o", output], "missing.safetensors");
        Assert.Equal(before, _dir.Names());
    }

    [Fact]
    public void Merge_refits_when_asked_and_records_it_in_the_recipe()
    {
        var output = _dir.File("m.safetensors");
        var result = Run("merge", _a, _b, "--data", _calibration, "--batch-size", "8", "--refit", "teacher", "--refit-ridge", "0.01", "-o", output, "--no-card", "--json");
        var json = JsonDocument.Parse(result.Out).RootElement;
        Assert.True(json.GetProperty("seconds").TryGetProperty("refit", out _), "the stage clock has no refit");
        var recipe = JsonDocument.Parse(File.ReadAllText(output + ".recipe.json")).RootElement;
        Assert.Equal("teacher", recipe.GetProperty("refit").GetString());
        Assert.Equal(0.01, recipe.GetProperty("refit_ridge").GetDouble());

        // The recipe reruns the same merge: the same tensors, bit for bit (the metadata names the other output).
        var again = _dir.File("again.safetensors");
        Run("merge", output + ".recipe.json", "-o", again, "--no-card");
        using var first = Checkpoint.Open(output);
        using var second = Checkpoint.Open(again);
        var tensors = first.ReadAll();
        var rerun = second.ReadAll();
        Assert.Equal(tensors.Keys.Order(StringComparer.Ordinal), rerun.Keys.Order(StringComparer.Ordinal));
        Assert.All(tensors, kv => Assert.True(kv.Value.equal(rerun[kv.Key]).all().item<bool>(), $"{kv.Key} differs"));
    }

    [Fact]
    public void Merge_refuses_a_refit_without_data_a_ridge_without_a_refit_and_an_unknown_variant()
    {
        var before = _dir.Names();
        var output = _dir.File("m.safetensors");
        Refused(2, ["merge", _a, _b, "--data", _calibration, "--refit-ridge", "0.1", "-o", output], "--refit-ridge is the refit's: give --refit too");
        Refused(2, ["merge", _a, _b, "--data", _calibration, "--refit", "gradient", "-o", output], "gradient");
        Refused(2, ["merge", _a, _b, "--matcher", "average", "--refit", "teacher", "-o", output], "a refit needs calibration data (--data)");
        var recipe = _dir.File("recipe.yaml");
        File.WriteAllText(recipe, $"models: [{_a}, {_b}]\ndata: {_calibration}\nrefit: teacher\nrefit_ridge: -2\noutput: {output}\n");
        Refused(2, ["merge", recipe], "--refit-ridge -2");
        File.Delete(recipe);
        Assert.Equal(before, _dir.Names());
    }

    private void Refused(int code, string[] args, string message)
    {
        var result = Tool.Run(args);
        Assert.True(result.ExitCode == code, $"{string.Join(' ', args[..2])}: expected exit {code}\n{result}");
        // One error line (a usage error adds the hint to run --help; a warning may come before it).
        var errors = result.Error.Split('\n').Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 1, $"expected one error line:\n{result.Error}");
        Assert.Contains(message, errors[0]);
    }

    private static CliResult Run(params string[] args)
    {
        var result = Tool.Run(args);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }
}
