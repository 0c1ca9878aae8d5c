using TorchSharp;
using ZipIt;
using static TorchSharp.torch;

namespace MyZipItMatcher.Tests;

/// <summary>The matcher recovers a planted permutation and keeps the contract's shapes.</summary>
public sealed class GreedyAlignMatcherTests
{
    private static readonly GreedyAlignMatcher Matcher = new();

    /// <summary>Two models whose units are one permutation apart: model 1's unit j is model 0's unit perm[j], plus a little noise.</summary>
    private static (MatchContext Context, long[] Perm) PlantedPair(int width, long seed)
    {
        var g = new Generator((ulong)seed);
        var features = randn(500, width, generator: g);
        var perm = randperm(width, generator: g).data<long>().ToArray();
        var other = features.index_select(1, tensor(perm)) + 0.01 * randn(500, width, generator: g);
        var stacked = cat([features, other], 1).to(ScalarType.Float64);
        var mean = stacked.mean([0]);
        var centred = stacked - mean;
        var covariance = centred.t().mm(centred) / (stacked.shape[0] - 1);
        var point = new MatchPoint("block1", width) { Covariance = covariance, Mean = mean };
        var context = new MatchContext
        {
            ModelCount = 2,
            Points = [point],
            Settings = new MatcherSettings(Matcher.Parameters),
        };
        return (context, perm);
    }

    [Fact]
    public void A_planted_permutation_is_recovered()
    {
        var (context, perm) = PlantedPair(12, 3);
        var result = Matcher.Match(context)["block1"];
        Assert.Equal([12L, 24L], result.Merge.shape);
        Assert.Equal([24L, 12L], result.Unmerge.shape);
        for (var j = 0; j < 12; j++)
        {
            // Model 1's unit j carries model 0's unit perm[j]: both feed merged feature perm[j].
            Assert.Equal(1f, result.Unmerge[12 + j, perm[j]].ToSingle());
            Assert.Equal(0.5f, result.Merge[perm[j], 12 + j].ToSingle());
        }
        using var rows = result.Merge.sum(1);
        Assert.True(rows.allclose(ones(12)));
    }

    [Fact]
    public void Grouped_points_and_a_bad_setting_are_refused_with_a_message()
    {
        var (context, _) = PlantedPair(8, 4);
        var grouped = new MatchContext
        {
            ModelCount = 2,
            Points = [context.Points[0] with { Groups = new GroupStructure(2) }],
            Settings = context.Settings,
        };
        Assert.Contains("groups", Assert.Throws<ArgumentException>(() => Matcher.Match(grouped)).Message);
        var bad = new MatcherSettings(Matcher.Parameters, new Dictionary<string, string> { ["eps"] = "0" });
        Assert.Contains("eps", Assert.Throws<ArgumentException>(() => Matcher.RequiredInputs(bad)).Message);
    }
}
