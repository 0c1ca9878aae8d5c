using TorchSharp;
using Xunit.Abstractions;
using ZipIt.Engine.Collect;
using ZipIt.Engine.Matching;
using ZipIt.Matching;
using ZipIt.Plugins.MuDsc;
using ZipIt.Testing;
using static TorchSharp.torch;

namespace ZipIt.Tests.MuDsc;

/// <summary>
/// Every matcher keeps a ViT head's q/k and v together (<see cref="MatcherConformance"/>) on two
/// unrelated random 4-head ViTs: MuDSC's sweeps, which rematch one point at a time, in both modes
/// at every balance and over several seeds, and the one-shot zipit and permute. An alignment
/// applied to one model alone leaves that model's function as it was; with untied heads (the
/// reference code's behaviour) it does not.
/// </summary>
public sealed class TiedHeadsConformanceTests(ITestOutputHelper output)
{
    private static readonly ZipIt.Plugins.Vit.VitArchitecture Vit = new();

    private static readonly ArchitectureConfig Config = Vit.Configure("vit-custom",
        new Dictionary<string, string> { ["width"] = "64", ["depth"] = "2", ["heads"] = "4" });

    /// <summary>Two unrelated random ViTs, their statistics on random images, and a test batch.</summary>
    private sealed class Pair : IDisposable
    {
        public readonly List<Dictionary<string, Tensor>> Weights = [];
        public readonly MergeGraph Graph = Vit.Describe(Config);
        public readonly List<MatchPoint> Points;
        public readonly Tensor Input;
        private readonly Dictionary<string, CovarianceAccumulator> _accumulators;

        public Pair(int seed)
        {
            var models = new List<StagedModel>();
            for (var i = 0; i < 2; i++)
            {
                var model = Vit.Create(Config);
                TestWeights.Randomise(model, (ulong)(100 * seed + i + 1));
                models.Add(model);
                Weights.Add(model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone()));
            }
            using var g = new Generator((ulong)(1000 + seed));
            var batches = Enumerable.Range(0, 2).Select(_ => randn([32, 3, 32, 32], generator: g)).ToList();
            Input = randn([4, 3, 32, 32], generator: g);
            _accumulators = StatisticsCollector.Collect(models, Graph.Spaces, batches, CPU);
            Points = Graph.Spaces.Select(s =>
            {
                var (covariance, mean) = _accumulators[s.Name].Finish();
                return new MatchPoint(s.Name, s.Width) { Space = s, Groups = s.Groups, Covariance = covariance, Mean = mean };
            }).ToList();
            foreach (var b in batches) b.Dispose();
            foreach (var m in models) m.Dispose();
        }

        public IReadOnlyDictionary<string, MatchResult> Match(IMatcher matcher, long seed, params (string Key, string Value)[] settings) =>
            Match(matcher, seed, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, settings);

        public IReadOnlyDictionary<string, MatchResult> Match(IMatcher matcher, long seed, Microsoft.Extensions.Logging.ILogger logger,
            params (string Key, string Value)[] settings) =>
            matcher.Match(new MatchContext
            {
                Logger = logger,
                ModelCount = 2,
                Points = Points,
                Graph = Graph,
                Settings = new MatcherSettings(matcher.Parameters, settings.ToDictionary(s => s.Key, s => s.Value)),
                Weights = Weights,
                Seed = seed,
            });

        public void Dispose()
        {
            foreach (var w in Weights) foreach (var t in w.Values) t.Dispose();
            foreach (var p in Points) { p.Covariance?.Dispose(); p.Mean?.Dispose(); }
            foreach (var a in _accumulators.Values) a.Dispose();
            Input.Dispose();
        }
    }

    private static void Dispose(IReadOnlyDictionary<string, MatchResult> results)
    {
        foreach (var r in results.Values) { r.Merge.Dispose(); r.Unmerge.Dispose(); }
    }

    [Theory]
    [InlineData("zip")]
    [InlineData("align")]
    public void Mudsc_sweeps_keep_tied_heads_together_at_every_balance_and_seed(string mode)
    {
        var matcher = new MuDscMatcher();
        var broken = new List<string>();
        for (var seed = 0; seed <= 5; seed++)
        {
            using var pair = new Pair(seed);
            foreach (var balance in new[] { "0.5", "0.7", "0.9", "1" })
            {
                var results = pair.Match(matcher, seed, ("mode", mode), ("balance", balance));
                try
                {
                    MatcherConformance.TiedGroupsMoveTogether(pair.Graph, results, 2);
                    if (mode == "align")
                        for (var model = 0; model < 2; model++)
                        {
                            var error = MatcherConformance.AlignmentKeepsFunction(Vit, Config, pair.Weights[model], results, model, 2, pair.Input);
                            output.WriteLine($"seed {seed}, balance {balance}, model {model}: output change {error:E2}");
                        }
                }
                catch (ConformanceException e)
                {
                    broken.Add($"seed {seed}, balance {balance}: {e.Message}");
                }
                finally
                {
                    Dispose(results);
                }
            }
        }
        Assert.True(broken.Count == 0, string.Join("\n", broken));
    }

    [Theory]
    [InlineData("zipit")]
    [InlineData("permute")]
    public void One_shot_matchers_keep_tied_heads_together(string name)
    {
        IMatcher matcher = name == "zipit" ? new ZipItMatcher() : new PermuteMatcher();
        for (var seed = 0; seed <= 2; seed++)
        {
            using var pair = new Pair(seed);
            var results = pair.Match(matcher, seed);
            try
            {
                MatcherConformance.TiedGroupsMoveTogether(pair.Graph, results, 2);
                if (name == "permute")
                    for (var model = 0; model < 2; model++)
                        MatcherConformance.AlignmentKeepsFunction(Vit, Config, pair.Weights[model], results, model, 2, pair.Input);
            }
            finally
            {
                Dispose(results);
            }
        }
    }

    /// <summary>The checks can fail: untied heads (the reference's behaviour) pair q/k and v apart and change the model.</summary>
    [Fact]
    public void Untied_heads_fail_the_checks()
    {
        using var pair = new Pair(0);
        var results = pair.Match(new PermuteMatcher(), 0, (MatchMatrices.UntieHeadsParameter.Name, "true"));
        try
        {
            var tie = Assert.Throws<ConformanceException>(() => MatcherConformance.TiedGroupsMoveTogether(pair.Graph, results, 2));
            Assert.Contains("are tied as 'blocks.", tie.Message);
            var function = Assert.Throws<ConformanceException>(() =>
                MatcherConformance.AlignmentKeepsFunction(Vit, Config, pair.Weights[1], results, 1, 2, pair.Input));
            Assert.Contains("changed its output", function.Message);
        }
        finally
        {
            Dispose(results);
        }
    }

    /// <summary>A zip is not an alignment: applying one side to one model is refused, not computed.</summary>
    [Fact]
    public void A_zip_is_not_applied_to_one_model()
    {
        using var pair = new Pair(1);
        var results = pair.Match(new ZipItMatcher(), 0);
        try
        {
            var e = Assert.Throws<ConformanceException>(() =>
                MatcherConformance.AlignmentKeepsFunction(Vit, Config, pair.Weights[0], results, 0, 2, pair.Input));
            Assert.True(e.Message.Contains("not an alignment") || e.Message.Contains("is not a permutation"), e.Message);
        }
        finally
        {
            Dispose(results);
        }
    }

    /// <summary>
    /// sweep-order=randperm draws sweep k's order as the k-th <c>randperm(points)</c> of one libtorch
    /// CPU generator seeded with the run's seed (the MuDSC reference's <c>torch.Generator().manual_seed(seed)</c>).
    /// </summary>
    [Theory]
    [InlineData(0L)]
    [InlineData(7L)]
    public void Randperm_sweeps_follow_libtorchs_randperm_of_the_seed(long seed)
    {
        using var pair = new Pair(2);
        var logger = new ZipIt.Tests.Matching.ListLogger();
        Dispose(pair.Match(new MuDscMatcher(), seed, logger, ("mode", "align"), ("balance", "0.5"), (MatchMatrices.UntieHeadsParameter.Name, "true")));
        var orders = logger.Lines.Where(l => l.Contains("mudsc: sweep ")).Select(l => l[(l.LastIndexOf("(order ", StringComparison.Ordinal) + 7)..^1]).ToList();
        Assert.True(orders.Count >= 6, string.Join("\n", logger.Lines));
        using var generator = new Generator((ulong)seed);
        foreach (var order in orders)
        {
            using var perm = randperm(pair.Points.Count, generator: generator);
            Assert.Equal(string.Join(" ", perm.data<long>().ToArray().Select(i => pair.Points[(int)i].Name)), order);
        }
        // shuffle is another order from the same seed.
        var shuffled = new ZipIt.Tests.Matching.ListLogger();
        Dispose(pair.Match(new MuDscMatcher(), seed, shuffled, ("mode", "align"), ("balance", "0.5"), (MatchMatrices.UntieHeadsParameter.Name, "true"), ("sweep-order", "shuffle")));
        Assert.NotEqual(orders[0], shuffled.Lines.First(l => l.Contains("mudsc: sweep 1:"))[..^1].Split("(order ")[1]);
    }
}
