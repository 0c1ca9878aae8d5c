using TorchSharp;
using ZipIt.Tests.ResNet;
using ZipIt.Engine.Zip;
using static TorchSharp.torch;

namespace ZipIt.Tests.Engine;

/// <summary>
/// Zipping a model with a permuted copy of itself, using the true permutation as the match, must
/// give back the original function, through the declarative description alone; identity matches
/// (weight averaging) must not.
/// </summary>
public sealed class ZipperTests
{
    public static TheoryData<string, string, int> Models() => new()
    {
        { "resnet20", "norm=bn", 32 },
        { "resnet20", "norm=gn", 32 },
        { "resnet-bottleneck", "blocks=1,1,1,1", 64 },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void Zipping_with_the_true_permutation_recovers_the_model_and_averaging_does_not(string variant, string settings, int size)
    {
        var (model, config, graph, input) = Setup(variant, settings, size);
        var a = model.state_dict();
        var b = GraphPermutation.Apply(a, graph, seed: 9);
        using var _ = no_grad();
        var expected = model.call(input);

        using (var zipped = Zipper.Zip([a, b], graph, TrueMatches(graph, seed: 9), stopStage: null, new ZipOptions()))
        {
            var merged = Load(config, zipped.Trunk);
            var error = (merged.call(input) - expected).abs().max().item<float>();
            Assert.True(error < 1e-4, $"max error {error}");
        }
        using (var averaged = Zipper.Zip([a, b], graph, IdentityMatches(graph), stopStage: null, new ZipOptions()))
        {
            var merged = Load(config, averaged.Trunk);
            var error = (merged.call(input) - expected).abs().max().item<float>();
            Assert.True(error > 1e-2, $"averaging a permuted copy should not recover the model (error {error})");
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void A_partial_zip_feeds_one_merged_trunk_into_each_models_head(string variant, string settings, int size)
    {
        var (model, config, graph, input) = Setup(variant, settings, size);
        var a = model.state_dict();
        var b = GraphPermutation.Apply(a, graph, seed: 4);
        using var _ = no_grad();
        var expected = model.call(input);
        var stop = graph.Stages.ToList().FindIndex(s => s.StopLabel is not null) + 1; // the second stop point

        using var zipped = Zipper.Zip([a, b], graph, TrueMatches(graph, seed: 4), stop, new ZipOptions());
        Assert.Equal(2, zipped.Heads.Count);
        Assert.All(zipped.Trunk.Keys, k => Assert.InRange(graph.StageOf(k), 0, stop));
        Assert.All(zipped.Heads[0].Keys, k => Assert.True(graph.StageOf(k) > stop, k));
        var trunk = Load(config, zipped.Trunk);
        var features = trunk.forward_stages(input, 0, stop + 1);
        foreach (var head in zipped.Heads)
        {
            var headModel = Load(config, head);
            var error = (headModel.forward_stages(features, stop + 1, headModel.StageCount) - expected).abs().max().item<float>();
            Assert.True(error < 1e-4, $"max error {error}");
        }
    }

    [Fact]
    public void Points_up_to_a_stop_follow_the_processing_order()
    {
        var config = ResNetTestUtil.Architecture.Configure("resnet20");
        var graph = ResNetTestUtil.Architecture.Describe(config);
        Assert.Equal(4, Zipper.PointsUpTo(graph, 1).Count);      // ZipIt!7/20: layer1's three blocks and its stream
        Assert.Equal(12, Zipper.PointsUpTo(graph, null).Count);
        Assert.Throws<ArgumentException>(() => Zipper.PointsUpTo(graph, 0)); // the stem does not end in a space
    }

    internal static Dictionary<string, MatchResult> TrueMatches(MergeGraph graph, ulong seed)
    {
        // The permutations GraphPermutation.Apply drew: model B's unit j is model A's unit perm[j].
        var permutations = GraphPermutation.RandomPermutations(graph, seed);
        var matches = new Dictionary<string, MatchResult>();
        foreach (var space in graph.Spaces)
        {
            var perm = permutations[space.Name];
            var c = space.Width;
            var u = zeros(2 * c, c);
            for (var j = 0; j < c; j++)
            {
                u[j, j] = 1;
                u[c + j, perm[j]] = 1;
            }
            matches[space.Name] = new MatchResult(u.t() / 2, u);
        }
        return matches;
    }

    internal static Dictionary<string, MatchResult> IdentityMatches(MergeGraph graph) => graph.Spaces.ToDictionary(s => s.Name, s =>
    {
        var u = cat([eye(s.Width), eye(s.Width)], 0);
        return new MatchResult(u.t() / 2, u);
    });

    private static (StagedModel Model, ArchitectureConfig Config, MergeGraph Graph, Tensor Input) Setup(string variant, string settings, int size)
    {
        var overrides = new Dictionary<string, string>();
        var i = settings.IndexOf('=');
        overrides[settings[..i]] = settings[(i + 1)..];
        var config = ResNetTestUtil.Architecture.Configure(variant, overrides);
        var model = ResNetTestUtil.Architecture.Create(config);
        ResNetTestUtil.Randomise(model, 21);
        model.eval();
        return (model, config, ResNetTestUtil.Architecture.Describe(config), randn([2, 3, size, size], generator: new Generator(22)));
    }

    private static StagedModel Load(ArchitectureConfig config, IReadOnlyDictionary<string, Tensor> state)
    {
        var model = ResNetTestUtil.Architecture.Create(config);
        var own = model.state_dict();
        foreach (var (k, v) in state) own[k].copy_(v);
        model.eval();
        return model;
    }
}
