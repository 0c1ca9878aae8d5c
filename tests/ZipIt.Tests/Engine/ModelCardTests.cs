using Snapshooter.Xunit;
using ZipIt.Engine.Core;
using ZipIt.Engine.Evaluate;
using ZipIt.Engine.Merge;
using ZipIt.Engine.Output;

namespace ZipIt.Tests.Engine;

/// <summary>The model card <c>merge</c> writes: its text (pinned), its name beside the output, and that it never replaces a file zipit did not write.</summary>
public sealed class ModelCardTests
{
    private static ModelCard Card(bool evaluated, string dtype = "f32", bool partial = false) => new()
    {
        Name = "merged.safetensors",
        Version = "9.9.9",
        Models =
        [
            new("a.safetensors", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "cifar10:0-4"),
            new("b|c.pt", "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210", null),
        ],
        Architecture = new ArchitectureConfig("resnet", "resnet20", new Dictionary<string, string> { ["width"] = "4", ["classes"] = "10" }),
        Matcher = "zipit",
        Preset = "paper",
        Settings = new Dictionary<string, string> { ["beta"] = "0.5", ["alpha"] = "0.3" },
        StopLabel = partial ? "13/20" : "20/20",
        Partial = partial,
        Seed = 7,
        Data = new ModelCard.Calibration("calibration.safetensors", 500, 100),
        ResetBaseBn = true,
        DType = dtype,
        Evaluation = evaluated
            ? new ModelCard.Evaluated("test.safetensors", 2000, "logits", [new("a", [0, 1, 2, 3, 4]), new("b", [5, 7, 9])],
                new EvaluationResult("merged.safetensors", ["merged.safetensors"], 1, 40_550_000, 0.6125,
                    new Dictionary<string, double> { ["a"] = 0.81, ["b"] = 0.775 }, 0.7925))
            : null,
        Command = "dotnet zipit merge --models a.safetensors 'b|c.pt' --data calibration.safetensors -o merged.safetensors",
        RecipeFile = "merged.safetensors.recipe.json",
        FolderName = "out",
    };

    [Fact]
    public void An_evaluated_f16_merge_card_has_not_changed() =>
        Snapshot.Match(Card(evaluated: true, dtype: "f16").ToMarkdown());

    [Fact]
    public void A_partial_merge_without_evaluation_card_has_not_changed() =>
        Snapshot.Match(Card(evaluated: false, partial: true).ToMarkdown());

    [Fact]
    public void The_card_says_which_precision_was_evaluated()
    {
        Assert.Contains("weights as stored (rounded to bf16), computed in float32", Card(evaluated: true, dtype: "bf16").ToMarkdown());
        Assert.Contains("weights as stored (f32)", Card(evaluated: true).ToMarkdown());
        Assert.DoesNotContain("## Evaluation", Card(evaluated: false).ToMarkdown());
    }

    [Fact]
    public void Identical_facts_give_identical_cards() =>
        Assert.Equal(Card(evaluated: true).ToMarkdown(), Card(evaluated: true).ToMarkdown());

    [Theory]
    [InlineData("/m/out/merged.safetensors", "/m/out/merged.README.md")]
    [InlineData("/m/out/model.safetensors", "/m/out/README.md")]
    [InlineData("/m/out/merged", "/m/out/merged.README.md")]
    public void The_card_is_named_after_the_checkpoint_or_is_the_folders_readme(string output, string card) =>
        Assert.Equal(card, ModelCard.PathFor(output));

    [Fact]
    public void A_readme_zipit_did_not_write_is_never_replaced_but_its_own_card_is()
    {
        using var dir = new TempDirectory();
        var foreign = dir.File("README.md");
        File.WriteAllText(foreign, "# My project\n");
        var e = Assert.Throws<ZipItException>(() => ModelCard.RequireReplaceable(foreign));
        Assert.Equal(ExitCode.Usage, e.Code);
        Assert.Contains("README.md exists and was not written by zipit", e.Message);

        var ours = dir.File("merged.README.md");
        File.WriteAllText(ours, Card(evaluated: false).ToMarkdown());
        ModelCard.RequireReplaceable(ours);
        ModelCard.RequireReplaceable(dir.File("absent.README.md"));
    }

    [Theory]
    [InlineData("a.safetensors", "a.safetensors")]
    [InlineData("--task", "--task")]
    [InlineData("a=0-4", "a=0-4")]
    [InlineData("my model.pt", "'my model.pt'")]
    [InlineData("it's", "'it'\\''s'")]
    [InlineData("", "''")]
    [InlineData("$HOME", "'$HOME'")]
    public void Command_lines_are_quoted_as_a_shell_reads_them(string word, string quoted) =>
        Assert.Equal(quoted, Shell.Quote(word));
}
