using System.Text.Json;
using TorchSharp;
using Xunit.Abstractions;
using ZipIt.Engine.Checkpoints;
using ZipIt.Tests.Engine;
using static ZipIt.Tests.Vit.VitTestUtil;

namespace ZipIt.Tests.Vit;

/// <summary>
/// collect → match → zip of a ViT and a function-preserving permuted copy of itself (stream, heads
/// as blocks with q/k and v tied, MLP), through the CLI: every aligning matcher gives the original
/// function back on images not used for matching; plain averaging does not.
/// </summary>
[Trait("Category", ZipIt.Tests.Infrastructure.Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class VitRecoveryTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("zipit", "", true)]
    [InlineData("permute", "", true)]
    [InlineData("mudsc", "zip", true)]
    [InlineData("mudsc", "align", true)]
    [InlineData("average", "", false)]
    public void Merging_a_vit_with_its_permuted_copy(string matcher, string mode, bool recovers)
    {
        using var dir = new TempDirectory();
        var pair = PermutedVit.Create(dir, "vit_pico_patch4_32", new Dictionary<string, string> { ["layer_scale"] = "true" });
        var metrics = dir.File("metrics.safetensors");
        Run("collect", pair.A, pair.B, "--data", pair.Calibration, "-o", metrics);
        var matches = dir.File("matches.safetensors");
        // merge-eps 0: exact averages (the reference's 1/(k + 1e-5) shrinks every merged layer slightly).
        string[] match = ["match", metrics, "-o", matches, "--matcher", matcher, "--set", "merge-eps=0"];
        if (matcher == "mudsc") match = [.. match, "--models", pair.A, pair.B, "--set", $"mode={mode}", "--set", "balance=0.7"];
        if (matcher != "average") Run(match);
        else Run("match", metrics, "-o", matches, "--matcher", matcher);
        var merged = dir.File("merged.safetensors");
        Run("zip", pair.A, pair.B, "--matches", matches, "-o", merged);
        var difference = pair.Difference(dir, merged);
        output.WriteLine($"{matcher} {mode}: max |merged - A| = {difference:E3}");
        if (recovers) Assert.True(difference <= 1e-4, $"{matcher} {mode}: max abs difference {difference}");
        else Assert.True(difference > 1e-3, $"{matcher} should not recover a permuted ViT (difference {difference})");
    }

    /// <summary>
    /// A partial zip of a ViT stops inside the residual stream, so each head unmerges the trunk's
    /// stream with its entry transform before its own blocks: both heads give A's function back.
    /// </summary>
    [Theory]
    [InlineData("zipit", "", "5")]
    [InlineData("permute", "", "9")]
    [InlineData("mudsc", "zip", "5")]
    [InlineData("mudsc", "align", "9")]
    public void A_partial_zip_of_a_vit_with_its_permuted_copy_keeps_the_function_in_both_heads(string matcher, string mode, string stop)
    {
        using var dir = new TempDirectory();
        var pair = PermutedVit.Create(dir, "vit_pico_patch4_32", new Dictionary<string, string> { ["layer_scale"] = "true" });
        var merged = dir.File("merged.safetensors");
        string[] merge = ["merge", "--models", pair.A, pair.B, "--data", pair.Calibration, "-o", merged, "--matcher", matcher, "--set", "merge-eps=0", "--stop", stop];
        if (matcher == "mudsc") merge = [.. merge, "--preset", mode, "--set", "balance=0.7"];
        Run(merge);
        using (var file = Checkpoint.Open(merged))
        {
            Assert.Equal("2", file.Metadata["zipit.heads"]);
            Assert.True(file.Contains("heads.0.zipit_entry_transform") && file.Contains("heads.1.zipit_entry_transform"), "entry transforms are stored");
        }
        var expected = Checkpoint.Open(pair.Expected).Read("output");
        var twoHeads = dir.File("expected-heads.safetensors");
        CheckpointWriter.WriteFile(twoHeads, [new("output.0", expected), new("output.1", expected)], new Dictionary<string, string>());
        var predict = Run("predict", merged, "-i", pair.Test, "-o", dir.File("out.safetensors"), "--compare", twoHeads, "--json");
        var difference = JsonDocument.Parse(predict.Out).RootElement.GetProperty("maxAbsDifference").GetDouble();
        output.WriteLine($"{matcher} {mode} stop {stop}: max |head - A| = {difference:E3}");
        Assert.True(difference <= 1e-4, $"{matcher} {mode} stop {stop}: max abs difference {difference}");
    }

    /// <summary>A fresh ViT A with LayerScale at 1 (so every block matters), B = A permuted through its graph, and A's outputs on test images.</summary>
    internal sealed record PermutedVit(string A, string B, string Calibration, string Test, string Expected)
    {
        public static PermutedVit Create(TempDirectory dir, string variant, IReadOnlyDictionary<string, string> settings)
        {
            var calibration = PermutationRecoveryTests.Images(dir, "calibration.safetensors", 64, 32, seed: 1);
            var test = PermutationRecoveryTests.Images(dir, "test.safetensors", 6, 32, seed: 2, name: "input");
            var config = Architecture.Configure(variant, settings);
            torch.manual_seed(7);
            var a = dir.File("a.safetensors");
            var b = dir.File("b.safetensors");
            using (var model = Architecture.Create(config))
            {
                ZipIt.Tests.ResNet.ResNetTestUtil.Randomise(model, 5);
                // With zipit's metadata, as `init` writes it: the head count then needs no guessing.
                var metadata = ZipIt.Engine.Checkpoints.ArchitectureMetadata.For(config);
                CheckpointWriter.WriteFile(a, model.state_dict(), metadata);
                CheckpointWriter.WriteFile(b, VitPermutation.Apply(model.state_dict(), Architecture.Describe(config), seed: 31), metadata);
            }
            var expected = dir.File("expected.safetensors");
            Run("predict", a, "-i", test, "-o", expected);
            return new PermutedVit(a, b, calibration, test, expected);
        }

        public double Difference(TempDirectory dir, string merged)
        {
            var predict = Run("predict", merged, "-i", Test, "-o", dir.File("out.safetensors"), "--compare", Expected, "--json");
            return JsonDocument.Parse(predict.Out).RootElement.GetProperty("maxAbsDifference").GetDouble();
        }
    }

    internal static CliResult Run(params string[] args)
    {
        var result = Tool.Run(args);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }
}
