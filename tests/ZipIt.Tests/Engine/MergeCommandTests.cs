using ZipIt.Tests.Infrastructure;
using System.Text.Json;
using TorchSharp;
using ZipIt.Engine.Checkpoints;
using ZipIt.Tests.Cli;
using ZipIt.Tests.ResNet;
using static TorchSharp.torch;
using ZipIt.Engine.Core;

namespace ZipIt.Tests.Engine;

/// <summary><c>merge</c> chains every stage; flags override the recipe; the resolved recipe is written beside the output.</summary>
[Trait("Category", Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class MergeCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _a;
    private readonly string _b;
    private readonly string _calibration;
    private readonly string _test;

    public MergeCommandTests()
    {
        (_a, _b, _calibration) = WriteModels(_dir);
        _test = _dir.File("test.safetensors");
        CheckpointWriter.WriteFile(_test, [new("input", randn([5, 3, 32, 32], generator: new Generator(99)))]);
    }

    /// <summary>A fresh ResNet-20 (a.safetensors) with BN statistics from 24 calibration images (data.safetensors; every unit alive), and a permuted copy (b.safetensors).</summary>
    internal static (string A, string B, string Calibration) WriteModels(TempDirectory dir)
    {
        var calibration = CollectTests.WriteImages(dir, 24);
        var config = ResNetTestUtil.Architecture.Configure("resnet20");
        torch.manual_seed(3);
        using (var model = ResNetTestUtil.Architecture.Create(config))
            CheckpointWriter.WriteFile(dir.File("a0.safetensors"), model.state_dict());
        var a = dir.File("a.safetensors");
        Assert.Equal(0, Tool.Run("reset-bn", dir.File("a0.safetensors"), "--data", calibration, "-o", a).ExitCode);
        var b = dir.File("b.safetensors");
        using var file = Checkpoint.Open(a);
        CheckpointWriter.WriteFile(b, GraphPermutation.Apply(file.ReadAll(), ResNetTestUtil.Architecture.Describe(config), seed: 12));
        return (a, b, calibration);
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Merging_a_model_with_its_permuted_copy_gives_it_back_and_flags_override_the_recipe()
    {
        var recipe = _dir.File("recipe.json");
        File.WriteAllText(recipe, $$"""
            { "models": ["a.safetensors", "b.safetensors"], "data": "data.safetensors", "matcher": "average",
              "settings": { "merge-eps": "0" }, "output": "out/merged.safetensors" }
            """);
        var result = Tool.Run("merge", recipe, "--matcher", "zipit", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        var summary = JsonDocument.Parse(result.Out).RootElement;
        Assert.InRange(summary.GetProperty("forwardShare").GetDouble(), 0, 1);

        var resolved = JsonDocument.Parse(File.ReadAllText(_dir.File("out/merged.safetensors.recipe.json"))).RootElement;
        Assert.Equal("zipit", resolved.GetProperty("matcher").GetString());
        // Paths relative to the recipe's folder, snake_case keys.
        Assert.Equal("../a.safetensors", resolved.GetProperty("models")[0].GetString());
        Assert.Equal("../data.safetensors", resolved.GetProperty("data").GetString());
        Assert.Equal("merged.safetensors", resolved.GetProperty("output").GetString());
        Assert.True(resolved.GetProperty("reset_bn").GetBoolean());

        var expected = _dir.File("expected.safetensors");
        Assert.Equal(0, Tool.Run("predict", _a, "-i", _test, "-o", expected).ExitCode);
        var predict = Tool.Run("predict", _dir.File("out/merged.safetensors"), "-i", _test, "-o", _dir.File("out.safetensors"), "--compare", expected, "--json");
        Assert.True(predict.ExitCode == 0, predict.ToString());
        var difference = JsonDocument.Parse(predict.Out).RootElement.GetProperty("maxAbsDifference").GetDouble();
        Assert.True(difference <= 1e-4, $"max abs difference {difference}");
        Assert.Equal(["merged.README.md", "merged.safetensors", "merged.safetensors.recipe.json"], Directory.GetFiles(_dir.File("out")).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void A_partial_merge_with_evaluation_reports_every_head()
    {
        var labelled = _dir.File("labelled.safetensors");
        CheckpointWriter.WriteFile(labelled, [new("images", randn(8, 3, 32, 32)), new("labels", arange(8, ScalarType.Int64) % 10)]);
        var result = Tool.Run("merge", "--models", _a, _b, "--data", _calibration, "-o", _dir.File("partial.safetensors"),
            "--stop", "7", "--eval-data", labelled, "--task", "a=0-4", "--task", "b=5-9", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        var evaluation = JsonDocument.Parse(result.Out).RootElement.GetProperty("evaluation");
        Assert.Equal(2, evaluation.GetProperty("heads").GetInt32());
        Assert.Equal("partial.safetensors", evaluation.GetProperty("models")[0].GetString());
        using var merged = Checkpoint.Open(_dir.File("partial.safetensors"));
        Assert.Equal("7/20", merged.Metadata["zipit.stop_label"]);
        Assert.Equal(7, JsonDocument.Parse(merged.Metadata["zipit.recipe"]).RootElement.GetProperty("stop").GetInt32());
        Assert.DoesNotContain('\n', merged.Metadata["zipit.recipe"]);
    }

    [Theory]
    [InlineData("{ \"modles\": [] }", 2, "modles")]
    [InlineData("{ \"data\": \"data.safetensors\", \"output\": \"m.safetensors\" }", 2, "two or more models")]
    [InlineData("[1, 2]", 2, "bad.json:1:1: a recipe is a mapping of keys")]
    [InlineData("models: [a.safetensors]", 2, "bad.json:1:1: not valid JSON: 'm' is an invalid start of a value")]
    public void Bad_recipes_exit_2_and_write_nothing(string json, int code, string message)
    {
        var recipe = _dir.File("bad.json");
        File.WriteAllText(recipe, json);
        var result = Tool.Run("merge", recipe);
        Assert.Equal(code, result.ExitCode);
        ExitCodeTests.AssertOneErrorLine(result, message);
        Assert.False(File.Exists(_dir.File("m.safetensors")));
    }

    [Fact]
    public void A_missing_recipe_exits_3()
    {
        var result = Tool.Run("merge", _dir.File("nope.json"));
        Assert.Equal(3, result.ExitCode);
        ExitCodeTests.AssertOneErrorLine(result, "nope.json");
    }
}
