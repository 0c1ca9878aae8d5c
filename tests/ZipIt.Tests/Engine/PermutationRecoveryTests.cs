using ZipIt.Tests.Infrastructure;
using System.Text.Json;
using TorchSharp;
using ZipIt.Engine.Checkpoints;
using ZipIt.Tests.Cli;
using ZipIt.Tests.ResNet;
using static TorchSharp.torch;
using ZipIt.Engine.Core;

namespace ZipIt.Tests.Engine;

/// <summary>
/// collect → match → zip of a model and a function-preserving permuted copy of itself, through the
/// CLI: the matchers that align units (zipit, permute) must give back the original function on
/// images not used for matching; plain averaging must not. The models are freshly initialised with
/// their BatchNorm statistics reset on the calibration images, so every unit carries signal: a unit
/// that never fires has zero variance, correlates with nothing (its twin included), and the
/// reference algorithm then pairs it arbitrarily, which no matcher can undo. GroupNorm models have no
/// statistics (reset-bn leaves them as they are); their points are grouped, so zipit and permute
/// run their group forms there.
/// </summary>
[Trait("Category", Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class PermutationRecoveryTests
{
    public static TheoryData<string, string, string, int, bool> Cases()
    {
        var data = new TheoryData<string, string, string, int, bool>();
        foreach (var (variant, settings, size) in new[] { ("resnet20", "norm=bn", 32), ("resnet20", "norm=gn", 32), ("resnet-bottleneck", "blocks=1,1,1,1", 64) })
        {
            data.Add(variant, settings, "zipit", size, true);
            data.Add(variant, settings, "permute", size, true);
            data.Add(variant, settings, "average", size, false);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Merging_a_model_with_its_permuted_copy(string variant, string settings, string matcher, int size, bool recovers)
    {
        using var dir = new TempDirectory();
        var kv = settings.Split('=');
        var (a, b, calibration, test, expected) = PermutedPair.Create(dir, variant, new Dictionary<string, string> { [kv[0]] = kv[1] }, size);
        Run("collect", a, b, "--data", calibration, "-o", dir.File("metrics.safetensors"), "--reset-bn", "false");
        // merge-eps 0: exact averages. The reference's 1/(k + 1e-5) shrinks every merged layer by
        // about 5e-6, which compounds to a few 1e-4 over twenty layers (zipit-method.md P12).
        Run("match", dir.File("metrics.safetensors"), "-o", dir.File("matches.safetensors"), "--matcher", matcher, "--set", "merge-eps=0");
        Run("zip", a, b, "--matches", dir.File("matches.safetensors"), "-o", dir.File("merged.safetensors"));
        var predict = Run("predict", dir.File("merged.safetensors"), "-i", test, "-o", dir.File("out.safetensors"), "--compare", expected, "--json");

        var difference = JsonDocument.Parse(predict.Out).RootElement.GetProperty("maxAbsDifference").GetDouble();
        if (recovers) Assert.True(difference <= 1e-4, $"{matcher}: max abs difference {difference}");
        else Assert.True(difference > 1e-2, $"{matcher} should not recover a permuted model (difference {difference})");
    }

    /// <summary>
    /// mudsc-method.md §9.2 and §16.6 b: with two unrelated GroupNorm ResNet-20s, every merged group of
    /// every point draws from exactly one group of each model, model 0's group r in slot r.
    /// </summary>
    [Theory]
    [InlineData("zipit")]
    [InlineData("permute")]
    public void GroupNorm_models_keep_their_groups_whole(string matcher)
    {
        using var dir = new TempDirectory();
        var calibration = Images(dir, "calibration.safetensors", 16, 32, seed: 1);
        var config = ResNetTestUtil.Architecture.Configure("resnet20", new Dictionary<string, string> { ["norm"] = "gn", ["classes"] = "10" });
        var graph = ResNetTestUtil.Architecture.Describe(config);
        foreach (var (file, seed) in new[] { ("a.safetensors", 7L), ("b.safetensors", 8L) })
        {
            torch.manual_seed(seed);
            using var model = ResNetTestUtil.Architecture.Create(config);
            CheckpointWriter.WriteFile(dir.File(file), model.state_dict());
        }
        Run("collect", dir.File("a.safetensors"), dir.File("b.safetensors"), "--data", calibration, "-o", dir.File("metrics.safetensors"));
        Run("match", dir.File("metrics.safetensors"), "-o", dir.File("matches.safetensors"), "--matcher", matcher);

        using var matches = Checkpoint.Open(dir.File("matches.safetensors"));
        Assert.NotEmpty(graph.Spaces);
        foreach (var space in graph.Spaces)
        {
            var groups = space.Groups!.Count;
            var size = space.Width / groups;
            using var unmerge = matches.Read(space.Name + ".unmerge");
            Assert.Equal([2L * space.Width, space.Width], unmerge.shape);
            using var featureOf = unmerge.argmax(1);
            using var ones = unmerge.sum(1);
            Assert.True(ones.eq(1).all().item<bool>(), $"{space.Name}: a unit is not in exactly one merged unit");
            var feature = featureOf.data<long>().ToArray();
            for (var model = 0; model < 2; model++)
            {
                var used = new HashSet<long>();
                for (var k = 0; k < groups; k++)
                {
                    var blocks = Enumerable.Range(0, size).Select(t => feature[model * space.Width + k * size + t] / size).Distinct().ToArray();
                    Assert.True(blocks.Length == 1, $"{space.Name}: model {model}'s group {k} is split over merged groups {string.Join(",", blocks)}");
                    Assert.True(used.Add(blocks[0]), $"{space.Name}: merged group {blocks[0]} draws from two groups of model {model}");
                    if (model == 0) Assert.Equal(k, blocks[0]);
                }
            }
        }
    }

    /// <summary>
    /// A fresh model A (BatchNorm reset on the calibration images, so every unit carries signal), B =
    /// A under a random function-preserving permutation of every space, and A's outputs on test images.
    /// </summary>
    internal sealed record PermutedPair(string A, string B, string Calibration, string Test, string Expected)
    {
        public static PermutedPair Create(TempDirectory dir, string variant, IReadOnlyDictionary<string, string> settings, int size)
        {
            var calibration = Images(dir, "calibration.safetensors", 24, size, seed: 1);
            var test = Images(dir, "test.safetensors", 6, size, seed: 2, name: "input");
            var config = ResNetTestUtil.Architecture.Configure(variant, new Dictionary<string, string>(settings) { ["classes"] = "10" });
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
            return new PermutedPair(a, b, calibration, test, expected);
        }

        /// <summary>The largest absolute difference between <paramref name="merged"/>'s outputs and A's.</summary>
        public double Difference(TempDirectory dir, string merged)
        {
            var predict = Run("predict", merged, "-i", Test, "-o", dir.File("out.safetensors"), "--compare", Expected, "--json");
            return JsonDocument.Parse(predict.Out).RootElement.GetProperty("maxAbsDifference").GetDouble();
        }
    }

    internal static string Images(TempDirectory dir, string file, int count, int size, ulong seed, string name = "images")
    {
        var path = dir.File(file);
        using var images = torch.randn([count, 3, size, size], generator: new Generator(seed));
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
