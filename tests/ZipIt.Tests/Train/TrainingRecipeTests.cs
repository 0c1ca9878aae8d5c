using System.Reflection;
using System.Text.Json;
using TorchSharp;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Core;
using ZipIt.Engine.Reproduce;
using ZipIt.Engine.Train;
using static TorchSharp.torch;

namespace ZipIt.Tests.Train;

/// <summary>
/// The training recipe: its schedule and optimisers against what PyTorch computed
/// (Fixtures/onecycle-pytorch.json, written by make-onecycle-fixture.py), its record in the
/// checkpoint, the model cache key, and the one place the logit scale follows the normalisation.
/// </summary>
public sealed class TrainingRecipeTests : IDisposable
{
    private readonly TempDirectory _dir = new("zipit-recipe");

    public void Dispose() => _dir.Dispose();

    private static JsonElement Fixture()
    {
        var path = Path.Combine(Repository.Root, "tests", "ZipIt.Tests", "Train", "Fixtures", "onecycle-pytorch.json");
        return JsonDocument.Parse(File.ReadAllText(path)).RootElement.Clone();
    }

    private static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    private static Tensor Matrix(JsonElement e) =>
        torch.tensor(e.EnumerateArray().SelectMany(r => r.EnumerateArray().Select(v => v.GetDouble())).ToArray(),
            [e.GetArrayLength(), e[0].GetArrayLength()], ScalarType.Float64);

    [Fact]
    public void One_cycle_gives_pytorchs_learning_rate_and_momentum_at_every_step()
    {
        foreach (var s in Fixture().GetProperty("schedules").EnumerateArray())
        {
            var total = s.GetProperty("total").GetInt32();
            var recipe = new TrainingRecipe
            {
                Optimizer = s.GetProperty("optimizer").GetString() == "adamw" ? OptimizerKind.AdamW : OptimizerKind.Sgd,
                LearningRate = 0.2,
                Warmup = s.GetProperty("pctStart").GetDouble(),
            };
            var lr = Doubles(s.GetProperty("lr"));
            var momentum = Doubles(s.GetProperty("momentum"));
            Assert.Equal(total, lr.Length);
            for (var step = 0; step < total; step++)
            {
                var (l, m) = RecipeSchedule.At(recipe, step, total);
                Assert.True(Math.Abs(l - lr[step]) < 1e-12, $"total {total}, step {step}: lr {l}, PyTorch {lr[step]}");
                Assert.True(Math.Abs(m - momentum[step]) < 1e-12, $"total {total}, step {step}: momentum {m}, PyTorch {momentum[step]}");
            }
        }
    }

    [Fact]
    public void The_linear_schedule_is_the_one_zipit_trained_with_before()
    {
        var recipe = new TrainingRecipe { Schedule = LearningRateSchedule.Linear, LearningRate = 0.02, Warmup = 0.05 };
        // 100 steps: 5 warm-up steps reach the peak on the last of them, then a linear decay to 0.
        Assert.Equal(0.02 * 1 / 5, RecipeSchedule.At(recipe, 0, 100).LearningRate, 15);
        Assert.Equal(0.02, RecipeSchedule.At(recipe, 4, 100).LearningRate, 15);
        Assert.Equal(0.02 * (1 - 50.0 / 95), RecipeSchedule.At(recipe, 55, 100).LearningRate, 15);
        Assert.Equal(0.9, RecipeSchedule.At(recipe, 55, 100).Momentum);
        // 105 steps: round(5.25) = 5 warm-up steps, then half of the remaining 100 is the cosine's midpoint.
        var cosine = recipe with { Schedule = LearningRateSchedule.Cosine };
        Assert.Equal(0.02, RecipeSchedule.At(cosine, 5, 105).LearningRate, 15);
        Assert.Equal(0.01, RecipeSchedule.At(cosine, 55, 105).LearningRate, 15);
    }

    [Fact]
    public void Sgd_nesterov_adamw_and_clipping_train_as_in_pytorch()
    {
        foreach (var t in Fixture().GetProperty("training").EnumerateArray())
        {
            using var scope = NewDisposeScope();
            var adamw = t.GetProperty("optimizer").GetString() == "adamw";
            var clip = t.GetProperty("clip").ValueKind == JsonValueKind.Null ? (double?)null : t.GetProperty("clip").GetDouble();
            var steps = t.GetProperty("steps").GetInt32();
            var recipe = adamw
                ? new TrainingRecipe { Optimizer = OptimizerKind.AdamW, LearningRate = 0.2, Beta2 = 0.99, WeightDecay = 0.05, Warmup = 0.2 }
                : new TrainingRecipe { LearningRate = 0.2, Warmup = 0.2, GradientClipNorm = clip };
            var x = Matrix(t.GetProperty("x"));
            var y = Matrix(t.GetProperty("y"));
            var w = new TorchSharp.Modules.Parameter(Matrix(t.GetProperty("w0")));
            using var optimizer = new RecipeOptimizer([w], recipe, steps);
            for (var step = 0; step < steps; step++)
            {
                using var inner = NewDisposeScope();
                optimizer.ZeroGrad();
                x.mm(w).sub(y).square().mean().backward();
                optimizer.Step(step);
            }
            var expected = Matrix(t.GetProperty("w"));
            var diff = w.detach().sub(expected).abs().max().item<double>();
            Assert.True(diff < 1e-10, $"{(adamw ? "adamw" : "sgd")} clip {clip}: largest difference from PyTorch {diff}");
        }
    }

    /// <summary>A recipe with every field away from its default.</summary>
    private static TrainingRecipe Unusual() => new()
    {
        Optimizer = OptimizerKind.AdamW, LearningRate = 0.003, Momentum = 0.8, Nesterov = false, WeightDecay = 0.05, Beta1 = 0.8, Beta2 = 0.99,
        Epsilon = 1e-6, Schedule = LearningRateSchedule.Cosine, Warmup = 0.1, DivFactor = 10, FinalDivFactor = 100, CycleMomentum = false,
        BaseMomentum = 0.8, MaxMomentum = 0.9, BatchSize = 64, Epochs = 7, CropPadding = 2, HorizontalFlip = true, LabelSmoothing = 0.1,
        GradientClipNorm = 1, Head = TrainHead.Logits, LogitScale = 30, EmbeddingDimension = 64, Precision = TrainPrecision.Bf16,
    };

    [Fact]
    public void The_unusual_recipe_sets_every_field()
    {
        var defaults = new TrainingRecipe();
        var unusual = Unusual();
        foreach (var p in typeof(TrainingRecipe).GetProperties(BindingFlags.Public | BindingFlags.Instance))
            Assert.False(Equals(p.GetValue(defaults), p.GetValue(unusual)), $"{p.Name} is at its default in Unusual()");
    }

    [Fact]
    public void A_recipe_round_trips_through_json_metadata()
    {
        foreach (var recipe in new[] { new TrainingRecipe(), Unusual() })
        {
            var meta = new Dictionary<string, string> { [TrainingRecipe.MetadataKey] = recipe.ToJson() };
            Assert.Equal(recipe, TrainingRecipe.FromMetadata(meta, "m.safetensors"));
        }
        Assert.Null(TrainingRecipe.FromMetadata(new Dictionary<string, string>(), "m.safetensors"));
        var bad = Assert.Throws<ZipItException>(() => TrainingRecipe.FromMetadata(new Dictionary<string, string> { [TrainingRecipe.MetadataKey] = "[1]" }, "m.safetensors"));
        Assert.Contains("m.safetensors: metadata 'zipit.training_recipe' is not a training recipe", bad.Message);
    }

    [Fact]
    public void The_cache_key_changes_with_every_field_of_the_recipe()
    {
        var cache = new ModelCache(_dir.Path);
        TrainOptions Options(TrainingRecipe r) => new() { Variant = "resnet20", Task = "fashion-mnist:0-4", Recipe = r };
        var baseline = new TrainingRecipe();
        var unusual = Unusual();
        var paths = new Dictionary<string, string> { ["(defaults)"] = cache.PathFor(Options(baseline)) };
        foreach (var p in typeof(TrainingRecipe).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var changed = baseline with { };
            p.SetValue(changed, p.GetValue(unusual));
            var path = cache.PathFor(Options(changed));
            Assert.DoesNotContain(path, paths.Values);
            paths[p.Name] = path;
        }
        Assert.Equal(cache.PathFor(Options(new TrainingRecipe())), paths["(defaults)"]);
    }

    [Fact]
    public void The_cache_key_changes_with_the_model_a_run_starts_from()
    {
        var cache = new ModelCache(_dir.Path);
        var fresh = new TrainOptions { Variant = "vit-custom", Task = "fashion-mnist:0-4" };
        Assert.NotEqual(cache.PathFor(fresh), cache.PathFor(fresh with { Init = "/cache/vit-custom-mnist_all-seed100-0123.safetensors" }));
        Assert.NotEqual(cache.PathFor(fresh with { Init = "/cache/a.safetensors" }), cache.PathFor(fresh with { Init = "/cache/b.safetensors" }));
    }

    [Theory]
    [InlineData(1, 5, 1)]
    [InlineData(2, 5, 1)]
    [InlineData(3, 9, 5)]
    [InlineData(4, 13, 5)]
    [InlineData(12, 33, 17)]
    public void A_vit_s_partial_zips_stop_two_thirds_and_one_third_of_the_way(int depth, int late, int early)
    {
        var vit = new ZipIt.Plugins.Vit.VitArchitecture();
        var graph = vit.Describe(vit.Configure("vit-custom", new Dictionary<string, string> { ["width"] = "64", ["depth"] = $"{depth}", ["heads"] = "2" }));
        Assert.Equal([late, early], ReproduceOptions.StopsOf(graph, vit.Protocol.StopFractions));
    }

    [Fact]
    public void A_resnet_20s_partial_zips_are_the_papers_13_and_7()
    {
        var resnet = new ZipIt.Plugins.ResNet.ResNetArchitecture();
        var graph = resnet.Describe(resnet.Configure("resnet20", new Dictionary<string, string> { ["width"] = "4" }));
        Assert.Equal([13, 7], ReproduceOptions.StopsOf(graph, resnet.Protocol.StopFractions));
    }

    [Fact]
    public void The_logit_scale_follows_the_normalisation_unless_given()
    {
        var gn = new Dictionary<string, string> { ["norm"] = "GN", ["width"] = "4" };
        var bn = new Dictionary<string, string> { ["norm"] = "bn" };
        Assert.Equal(TrainingRecipe.GroupNormLogitScale, new TrainingRecipe().For(gn).LogitScale);
        Assert.Equal(TrainingRecipe.DefaultLogitScale, new TrainingRecipe().For(bn).LogitScale);
        Assert.Equal(TrainingRecipe.DefaultLogitScale, new TrainingRecipe().For(new Dictionary<string, string>()).LogitScale);
        Assert.Equal(30, new TrainingRecipe { LogitScale = 30 }.For(gn).LogitScale);
        // reproduce and demo resolve through the same call, and the cache keys on the resolved scale.
        Assert.Equal(10, new ReproduceOptions { Setting = "fmnist-5+5", Norm = "gn" }.ResolvedRecipe().LogitScale);
        Assert.Equal(100, new ReproduceOptions { Setting = "fmnist-5+5" }.ResolvedRecipe().LogitScale);
        var cache = new ModelCache(_dir.Path);
        var implicitGn = new TrainOptions { Variant = "resnet20", Task = "t", Settings = gn };
        Assert.Equal(cache.PathFor(implicitGn with { Recipe = new TrainingRecipe { LogitScale = 10 } }), cache.PathFor(implicitGn));
        Assert.NotEqual(cache.PathFor(implicitGn with { Recipe = new TrainingRecipe { LogitScale = 100 } }), cache.PathFor(implicitGn));
    }
}
