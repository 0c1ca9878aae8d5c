using System.Text.Json;
using Snapshooter.Xunit;
using TorchSharp;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Merge;
using ZipIt.Tests.Cli;
using ZipIt.Tests.Infrastructure;
using static TorchSharp.torch;

namespace ZipIt.Tests.Engine;

/// <summary>What <c>merge</c> leaves beside its checkpoint (the model card), the checkpoint's storage type, and its progress on stderr.</summary>
[Trait("Category", Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class MergeOutputsTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _a;
    private readonly string _b;
    private readonly string _calibration;
    private readonly string _labelled;

    public MergeOutputsTests()
    {
        (_a, _b, _calibration) = MergeCommandTests.WriteModels(_dir);
        _labelled = _dir.File("labelled.safetensors");
        CheckpointWriter.WriteFile(_labelled, [new("images", randn([10, 3, 32, 32], generator: new Generator(5))), new("labels", arange(10, ScalarType.Int64))]);
    }

    public void Dispose() => _dir.Dispose();

    private string[] Merge(string output, params string[] more) =>
        ["merge", "--models", _a, _b, "--data", _calibration, "--batch-size", "10", "-o", output, .. more];

    [Fact]
    public void The_card_appears_with_the_checkpoint_is_deterministic_and_has_not_changed_and_progress_stays_off_stdout()
    {
        var output = _dir.File("out/merged.safetensors");
        string[] args = Merge(output, "--eval-data", _labelled, "--task", "a=0-4", "--task", "b=5-9", "--progress", "--json");
        var first = Tool.Run(args);
        Assert.True(first.ExitCode == 0, first.ToString());
        // --progress on a non-terminal: lines with ETA on stderr for every stage over data; stdout is one JSON document.
        var summary = JsonDocument.Parse(first.Out).RootElement;
        Assert.Equal(_dir.File("out/merged.README.md"), summary.GetProperty("card").GetString());
        foreach (var stage in new[] { "reset BN a.safetensors, batch", "reset BN b.safetensors, batch", "collect 2 models, batch", "reset BN merged.safetensors, batch", "evaluate merged.safetensors, batch" })
            Assert.Contains(stage, first.Error);
        Assert.Contains("30%, ETA ", first.Error);
        Assert.Contains(": 100% in ", first.Error);

        var card = File.ReadAllText(_dir.File("out/merged.README.md"));
        Assert.Equal(["merged.README.md", "merged.safetensors", "merged.safetensors.recipe.json"], Directory.GetFiles(_dir.File("out")).Select(Path.GetFileName).Order());
        using (var merged = Checkpoint.Open(output))
        {
            var hashes = JsonSerializer.Deserialize<string[]>(merged.Metadata["zipit.source_hashes"])!;
            Assert.Equal(["sha256:" + CheckpointHash.Sha256(_a), "sha256:" + CheckpointHash.Sha256(_b)], hashes);
            Assert.Contains($"`{CheckpointHash.Sha256(_a)}`", card);
        }
        // The hashes are checked above; the snapshot pins the text, whatever libtorch made the models' bytes.
        Snapshot.Match(Scrub.Text(card, (ModelCard.ToolVersion(), "{version}"), (CheckpointHash.Sha256(_a), "{sha256 a}"), (CheckpointHash.Sha256(_b), "{sha256 b}")));

        // The same command again replaces zipit's own card with the same bytes.
        var second = Tool.Run(args);
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Equal(card, File.ReadAllText(_dir.File("out/merged.README.md")));
    }

    [Fact]
    public void A_readme_zipit_did_not_write_is_refused_before_any_work_and_no_card_skips_it()
    {
        var folder = Directory.CreateDirectory(_dir.File("hf")).FullName;
        var readme = Path.Combine(folder, "README.md");
        File.WriteAllText(readme, "# my notes\n");
        var output = Path.Combine(folder, "model.safetensors");

        var refused = Tool.Run(Merge(output, "--matcher", "average"));
        Assert.Equal(2, refused.ExitCode);
        ExitCodeTests.AssertOneErrorLine(refused, "README.md exists and was not written by zipit");
        Assert.Equal(["README.md"], Directory.GetFiles(folder).Select(Path.GetFileName));

        var skipped = Tool.Run(Merge(output, "--matcher", "average", "--no-card"));
        Assert.True(skipped.ExitCode == 0, skipped.ToString());
        Assert.Equal("# my notes\n", File.ReadAllText(readme));
        Assert.Equal(["README.md", "model.safetensors", "model.safetensors.recipe.json"], Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Dtype_stores_the_f32_merge_rounded_and_the_card_says_so()
    {
        var reference = _dir.File("f32.safetensors");
        var plain = Tool.Run(Merge(reference));
        Assert.True(plain.ExitCode == 0, plain.ToString());
        // Not a terminal and no --progress: no progress at all.
        Assert.DoesNotContain(", batch ", plain.Error);
        using var f32 = Checkpoint.Open(reference);
        foreach (var (name, type) in new[] { ("f16", ScalarType.Float16), ("bf16", ScalarType.BFloat16) })
        {
            var path = _dir.File(name + ".safetensors");
            var result = Tool.Run(Merge(path, "--dtype", name, "--json"));
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal(name, JsonDocument.Parse(result.Out).RootElement.GetProperty("dtype").GetString());
            Assert.Contains($"| Stored as | {name} (floating-point tensors", File.ReadAllText(_dir.File(name + ".README.md")));
            using var stored = Checkpoint.Open(path);
            Assert.Equal(f32.Entries.Select(e => e.Name), stored.Entries.Select(e => e.Name));
            foreach (var entry in f32.Entries)
            {
                using var expected = f32.Read(entry.Name);
                using var actual = stored.Read(entry.Name);
                if (!expected.is_floating_point())
                {
                    Assert.Equal(expected.dtype, actual.dtype);
                    Assert.True(expected.eq(actual).all().item<bool>(), entry.Name);
                    continue;
                }
                Assert.Equal(type, actual.dtype);
                using var rounded = expected.to_type(type);
                Assert.True(rounded.eq(actual).all().item<bool>(), $"{name} {entry.Name}: not the f32 merge rounded");
            }
        }
        Assert.Equal(2, Tool.Run(Merge(_dir.File("x.safetensors"), "--dtype", "f8")).ExitCode);
        Assert.False(File.Exists(_dir.File("x.safetensors")));
    }
}
