using System.Text.Json;
using ZipIt.Engine.Checkpoints;
using ZipIt.Tests.Engine;
using ZipIt.Tests.Infrastructure;

namespace ZipIt.Tests.Repair;

/// <summary><c>merge --repair</c> and the recipe's <c>repair</c> key: the stage runs between the zip and the BatchNorm reset, and a refused repair leaves nothing on disk.</summary>
[Trait("Category", Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class RepairCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _a;
    private readonly string _b;

    public RepairCommandTests()
    {
        _a = _dir.File("a.safetensors");
        _b = _dir.File("b.safetensors");
        Assert.Equal(0, Tool.Run("init", "vit_pico_patch4_32", "--seed", "1", "-o", _a).ExitCode);
        Assert.Equal(0, Tool.Run("init", "vit_pico_patch4_32", "--seed", "2", "-o", _b).ExitCode);
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Merge_repair_corrects_the_zipped_model_and_records_it_in_the_recipe()
    {
        var data = CollectTests.WriteImages(_dir, 8);
        var plain = Tool.Run("merge", _a, _b, "--data", data, "-o", _dir.File("plain.safetensors"));
        Assert.True(plain.ExitCode == 0, plain.ToString());
        var repaired = Tool.Run("merge", _a, _b, "--data", data, "--repair", "--batch-size", "3", "-o", _dir.File("repaired.safetensors"), "--json");
        Assert.True(repaired.ExitCode == 0, repaired.ToString());

        var summary = JsonDocument.Parse(repaired.Out).RootElement;
        Assert.True(summary.GetProperty("seconds").TryGetProperty("repair", out _), repaired.Out);
        var recipe = JsonDocument.Parse(File.ReadAllText(_dir.File("repaired.safetensors.recipe.json"))).RootElement;
        Assert.True(recipe.GetProperty("repair").GetBoolean());
        Assert.False(JsonDocument.Parse(File.ReadAllText(_dir.File("plain.safetensors.recipe.json"))).RootElement.TryGetProperty("repair", out _));
        Assert.Contains("| REPAIR |", File.ReadAllText(_dir.File("repaired.README.md")));
        Assert.DoesNotContain("REPAIR", File.ReadAllText(_dir.File("plain.README.md")));
        using var before = Checkpoint.Open(_dir.File("plain.safetensors"));
        using var after = Checkpoint.Open(_dir.File("repaired.safetensors"));
        // The zip is the same; REPAIR changed what it corrects and nothing else.
        var changed = before.ReadAll().Where(kv => !kv.Value.equal(after.Read(kv.Key)).all().item<bool>()).Select(kv => kv.Key).ToHashSet();
        Assert.Contains("blocks.0.mlp.fc1.bias", changed);
        Assert.Contains("blocks.2.norm2.weight", changed);
        Assert.DoesNotContain("pos_embed", changed);
        Assert.DoesNotContain("head.weight", changed);

        // The recipe written beside the output repeats the repair.
        var rerun = Tool.Run("merge", _dir.File("repaired.safetensors.recipe.json"), "-o", _dir.File("again.safetensors"));
        Assert.True(rerun.ExitCode == 0, rerun.ToString());
        using var again = Checkpoint.Open(_dir.File("again.safetensors"));
        Assert.All(after.ReadAll(), kv => Assert.True(kv.Value.equal(again.Read(kv.Key)).all().item<bool>(), $"{kv.Key} differs on the rerun"));
    }

    [Fact]
    public void A_repair_without_calibration_data_is_exit_2_in_one_line_and_creates_nothing()
    {
        var result = Tool.Run("merge", _a, _b, "--matcher", "average", "--repair", "-o", _dir.File("new/m.safetensors"));

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Equal("error: a repair needs calibration data (--data)\n", result.Error);
        Assert.Equal(["a.safetensors", "b.safetensors"], _dir.Names());
    }

    [Fact]
    public void A_recipe_whose_repair_is_no_boolean_is_exit_2_naming_the_key()
    {
        var recipe = _dir.File("recipe.yaml");
        File.WriteAllText(recipe, "models: [a.safetensors, b.safetensors]\nmatcher: average\nrepair: sometimes\noutput: new/m.safetensors\n");

        var result = Tool.Run("merge", recipe);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("'repair'", result.Error);
        Assert.Equal(["a.safetensors", "b.safetensors", "recipe.yaml"], _dir.Names());
    }
}
