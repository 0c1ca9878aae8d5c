using ZipIt.Matching;
using ZipIt.Plugins.MuDsc;
using static TorchSharp.torch;
using static ZipIt.Tests.Matching.MatchingTestSupport;

namespace ZipIt.Tests.MuDsc;

/// <summary>
/// The mudsc matcher on a small synthetic network (input → h1 → h2 → output, no biases) whose
/// points can be grouped: recovery of a group-structured permutation, group blocks kept for
/// unrelated models (§16.6 b), the weight similarity's properties (§16.6 d), inputs left as they
/// were (§16.6 e), and determinism.
/// </summary>
public sealed class MuDscSyntheticTests
{
    // Wide enough inputs and outputs that weight-only matching, whose first sweep sees unaligned
    // neighbours (Git Re-Basin's identity start), is led to the right optimum and not a local one.
    private const int Inputs = 24;
    private const int Outputs = 12;
    private const int Width = 8;

    private static MergeGraph Graph(int? groups)
    {
        var g = groups is { } count ? new GroupStructure(count) : null;
        var h1 = new FeatureSpace("h1", Width)
        {
            Producers = [new TensorAxis("fc1.weight", 0)],
            Consumers = [new TensorAxis("fc2.weight", 1)],
            Taps = [new FeatureTap("fc2", TapSite.Input)],
            Groups = g,
        };
        var h2 = new FeatureSpace("h2", Width)
        {
            Producers = [new TensorAxis("fc2.weight", 0), new TensorAxis("fc2.bias", 0, TensorKind.Bias)],
            Norms = [new TensorAxis("norm.running_mean", 0, TensorKind.RunningMean)],
            Consumers = [new TensorAxis("fc3.weight", 1)],
            Taps = [new FeatureTap("fc3", TapSite.Input)],
            Groups = g,
        };
        return new MergeGraph([h1, h2], [], 3);
    }

    private static Dictionary<string, Tensor> RandomWeights(int seed)
    {
        using var generator = new Generator((ulong)seed);
        return new Dictionary<string, Tensor>
        {
            ["fc1.weight"] = randn([Width, Inputs], generator: generator),
            ["fc2.weight"] = randn([Width, Width], generator: generator),
            ["fc2.bias"] = randn([Width], generator: generator),
            ["norm.running_mean"] = randn([Width], generator: generator),
            ["fc3.weight"] = randn([Outputs, Width], generator: generator),
        };
    }

    private static long[] GroupPermutation(int groups, Random random) =>
        Matching.GroupedMatcherTests.GroupPermutation(Width, groups, random).Select(i => (long)i).ToArray();

    /// <summary>B's unit k of h1 is A's unit p1[k] (and so on): the same function.</summary>
    private static Dictionary<string, Tensor> Permuted(Dictionary<string, Tensor> a, long[] p1, long[] p2)
    {
        using var i1 = tensor(p1);
        using var i2 = tensor(p2);
        return new Dictionary<string, Tensor>
        {
            ["fc1.weight"] = a["fc1.weight"].index_select(0, i1),
            ["fc2.weight"] = a["fc2.weight"].index_select(0, i2).index_select(1, i1),
            ["fc2.bias"] = a["fc2.bias"].index_select(0, i2),
            ["norm.running_mean"] = a["norm.running_mean"].index_select(0, i2),
            ["fc3.weight"] = a["fc3.weight"].index_select(1, i2),
        };
    }

    /// <summary>Activations of both models on the same inputs, as covariances of the stacked units.</summary>
    private static (Tensor H1, Tensor H2) Covariances(IReadOnlyList<Dictionary<string, Tensor>> models)
    {
        using var generator = new Generator(99);
        using var x = randn([200, Inputs], generator: generator);
        var h1 = models.Select(m => nn.functional.relu(x.matmul(m["fc1.weight"].t()))).ToList();
        var h2 = models.Select((m, i) => nn.functional.relu(h1[i].matmul(m["fc2.weight"].t()) + m["fc2.bias"])).ToList();
        return (Covariance(cat(h1, 1)), Covariance(cat(h2, 1)));
    }

    private static Tensor Covariance(Tensor samples)
    {
        var x = samples.to(ScalarType.Float64);
        var centred = x - x.mean([0], keepdim: true);
        return centred.t().matmul(centred) / x.shape[0];
    }

    private static MatchContext Context(MergeGraph graph, IReadOnlyList<Dictionary<string, Tensor>> models, bool activations, params (string Key, string Value)[] settings)
    {
        var matcher = new MuDscMatcher();
        var (c1, c2) = activations ? Covariances(models) : (null, null);
        var points = graph.Spaces.Select((s, i) => new MatchPoint(s.Name, s.Width)
        {
            Space = s,
            Groups = s.Groups,
            Covariance = i == 0 ? c1 : c2,
        }).ToList();
        return new MatchContext
        {
            ModelCount = models.Count,
            Points = points,
            Settings = new MatcherSettings(matcher.Parameters, settings.ToDictionary(s => s.Key, s => s.Value)),
            Graph = graph,
            Weights = models.Select(m => (IReadOnlyDictionary<string, Tensor>)m).ToList(),
            Seed = 3,
        };
    }

    private static int[] FeatureOfPoint(MatchResult result) => FeatureOf(Values(result.Unmerge), 2 * Width, Width);

    public static TheoryData<string, string, int> RecoveryCases()
    {
        var data = new TheoryData<string, string, int>();
        foreach (var mode in new[] { "zip", "align" })
            foreach (var balance in new[] { "0.5", "1" })
                foreach (var groups in new[] { 1, 4 })
                    data.Add(mode, balance, groups);
        return data;
    }

    /// <summary>§16.6 a on a synthetic network: B = A under a (group-structured) permutation; every unit of B joins its twin.</summary>
    [Theory]
    [MemberData(nameof(RecoveryCases))]
    public void A_permuted_copy_is_matched_unit_to_twin(string mode, string balance, int groups)
    {
        var random = new Random(5);
        var a = RandomWeights(1);
        var p1 = GroupPermutation(groups, random);
        var p2 = GroupPermutation(groups, random);
        var b = Permuted(a, p1, p2);
        var graph = Graph(groups > 1 ? groups : null);
        var context = Context(graph, [a, b], activations: balance != "1", ("mode", mode), ("balance", balance));

        var results = new MuDscMatcher().Match(context);
        foreach (var (point, perm) in new[] { ("h1", p1), ("h2", p2) })
        {
            var featureOf = FeatureOfPoint(results[point]);
            for (var k = 0; k < Width; k++)
                Assert.True(featureOf[Width + k] == featureOf[(int)perm[k]],
                    $"{point}: B's unit {k} joined feature {featureOf[Width + k]}, its twin A {perm[k]} is in {featureOf[(int)perm[k]]} ({Groups(featureOf, Width)})");
        }
    }

    /// <summary>§16.6 b: for unrelated grouped models every merged group draws from exactly one group of each model, A's group r in slot r.</summary>
    [Theory]
    [InlineData("zip")]
    [InlineData("align")]
    public void Grouped_points_keep_whole_groups(string mode)
    {
        const int groups = 4;
        var size = Width / groups;
        var context = Context(Graph(groups), [RandomWeights(1), RandomWeights(2)], activations: true, ("mode", mode));
        var results = new MuDscMatcher().Match(context);
        foreach (var point in new[] { "h1", "h2" })
        {
            var featureOf = FeatureOfPoint(results[point]);
            Assert.DoesNotContain(-1, featureOf);
            for (var model = 0; model < 2; model++)
            {
                var used = new HashSet<int>();
                for (var k = 0; k < groups; k++)
                {
                    var blocks = Enumerable.Range(0, size).Select(t => featureOf[model * Width + k * size + t] / size).Distinct().ToArray();
                    Assert.True(blocks.Length == 1, $"{point}: model {model}'s group {k} is split over merged groups {string.Join(",", blocks)}");
                    Assert.True(used.Add(blocks[0]), $"{point}: merged group {blocks[0]} draws from two groups of model {model}");
                    if (model == 0) Assert.Equal(k, blocks[0]);
                }
            }
        }
    }

    /// <summary>§16.6 d: symmetric, within [−1, 1], 1 on the diagonal of live units, and a dead unit (all its weights 0) correlates 0 with everything.</summary>
    [Fact]
    public void Weight_similarity_is_a_correlation_and_handles_dead_units()
    {
        var a = RandomWeights(1);
        var b = RandomWeights(2);
        const int dead = 3;
        b["fc1.weight"][dead].zero_();
        b["fc2.weight"][.., dead].zero_();
        var graph = Graph(null);
        var context = Context(graph, [a, b], activations: false);
        using var similarity = new WeightSimilarity(context.Points, context.Weights!, 2);
        var s = similarity.Compute(graph.Space("h1"), _ => null, _ => null);

        const int n = 2 * Width;
        Assert.Equal(Inputs + Width, similarity.FeatureLength(graph.Space("h1")));
        var deadRow = Width + dead;
        for (var i = 0; i < n; i++)
            for (var j = 0; j < n; j++)
            {
                var v = s[i * n + j];
                Assert.True(float.IsFinite(v) && v >= -1.0001f && v <= 1.0001f, $"S[{i},{j}] = {v}");
                Assert.True(Math.Abs(v - s[j * n + i]) < 1e-6, $"S[{i},{j}] = {v} but S[{j},{i}] = {s[j * n + i]}");
                if (i == deadRow || j == deadRow) Assert.True(v == 0f, $"dead unit: S[{i},{j}] = {v}");
                else if (i == j) Assert.True(Math.Abs(v - 1) < 1e-5, $"S[{i},{i}] = {v}");
            }

        // Pearson, not cosine: adding a constant to a unit's weights changes nothing.
        var shifted = new Dictionary<string, Tensor>(a) { ["fc1.weight"] = a["fc1.weight"].clone(), ["fc2.weight"] = a["fc2.weight"].clone() };
        using var again = new WeightSimilarity(context.Points, [shifted, b], 2);
        var before = again.Compute(graph.Space("h1"), _ => null, _ => null);
        shifted["fc1.weight"][0].add_(5);
        shifted["fc2.weight"][.., 0].add_(5);
        using var third = new WeightSimilarity(context.Points, [shifted, b], 2);
        var after = third.Compute(graph.Space("h1"), _ => null, _ => null);
        for (var j = 0; j < n; j++) Assert.True(Math.Abs(before[j] - after[j]) < 1e-4, $"S[0,{j}]: {before[j]} vs {after[j]}");
    }

    /// <summary>§16.6 e, and determinism: weights and covariances are untouched, and the same seed gives the same matching.</summary>
    [Theory]
    [InlineData("zip")]
    [InlineData("align")]
    public void Inputs_are_not_modified_and_results_repeat(string mode)
    {
        var models = new[] { RandomWeights(1), RandomWeights(2) };
        var context = Context(Graph(2), models, activations: true, ("mode", mode));
        var weights = models.Select(m => m.ToDictionary(kv => kv.Key, kv => kv.Value.clone())).ToList();
        var covariances = context.Points.Select(p => p.Covariance!.clone()).ToList();

        var first = new MuDscMatcher().Match(context);
        var second = new MuDscMatcher().Match(context);

        for (var i = 0; i < models.Length; i++)
            foreach (var (key, value) in models[i]) Assert.True(value.Equals(weights[i][key]), $"model {i}'s {key} changed");
        for (var p = 0; p < covariances.Count; p++) Assert.True(context.Points[p].Covariance!.Equals(covariances[p]), $"{context.Points[p].Name}'s covariance changed");
        foreach (var point in new[] { "h1", "h2" })
        {
            Assert.True(first[point].Unmerge.Equals(second[point].Unmerge), $"{point}: two runs differ");
            Assert.True(first[point].Merge.Equals(second[point].Merge), $"{point}: two runs differ");
        }
    }

    [Theory]
    [InlineData("balance", "1.5", "between 0 and 1")]
    [InlineData("balance", "-0.1", "between 0 and 1")]
    [InlineData("mode", "merge", "zip or align")]
    [InlineData("patience", "0", "at least 1")]
    public void Bad_settings_are_refused(string name, string value, string message)
    {
        var matcher = new MuDscMatcher();
        var settings = new MatcherSettings(matcher.Parameters, new Dictionary<string, string> { [name] = value });
        Assert.Contains(message, Assert.Throws<ArgumentException>(() => matcher.RequiredInputs(settings)).Message);
    }

    [Theory]
    [InlineData("0", MatcherInputs.Activations)]
    [InlineData("0.5", MatcherInputs.Activations | MatcherInputs.Weights)]
    [InlineData("1", MatcherInputs.Weights)]
    public void Balance_decides_what_is_needed(string balance, MatcherInputs expected)
    {
        var matcher = new MuDscMatcher();
        Assert.Equal(expected, matcher.RequiredInputs(new MatcherSettings(matcher.Parameters, new Dictionary<string, string> { ["balance"] = balance })));
    }

    [Fact]
    public void Missing_weights_are_refused_in_one_line()
    {
        var context = Context(Graph(null), [RandomWeights(1), RandomWeights(2)], activations: true);
        var message = Assert.Throws<ArgumentException>(() => new MuDscMatcher().Match(new MatchContext
        {
            ModelCount = 2, Points = context.Points, Settings = context.Settings, Graph = context.Graph,
        })).Message;
        Assert.Contains("needs the 2 models' weights", message);
        Assert.DoesNotContain('\n', message);
    }
}
