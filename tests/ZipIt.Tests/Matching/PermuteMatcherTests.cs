using ZipIt.Matching;
using ZipIt.Engine.Matching;
using static TorchSharp.torch;
using static ZipIt.Tests.Matching.MatchingTestSupport;

namespace ZipIt.Tests.Matching;

public class PermuteMatcherTests
{
    private static readonly PermuteMatcher Matcher = new();

    [Fact]
    public void GoldenVector_13_3()
    {
        var result = MatchOne(Matcher, 2, GoldenMatrix.Point());
        // Merged feature r = A_r and its partner, in model A's order.
        Assert.Equal("{0,5} {1,4} {2,7} {3,6}", Groups(FeatureOf(Values(result.Unmerge), 8, 4), 4));
        var merge = Values(result.Merge);
        Assert.Equal(1f / (2f + 1e-5f), merge[0 * 8 + 0]);
        Assert.Equal(1f / (2f + 1e-5f), merge[0 * 8 + 5]);
        Assert.Equal(8, merge.Count(v => v != 0f));
    }

    [Fact]
    public void ThreeModels_EachAlignedToModelZero()
    {
        // Models 1 and 2 are noisy permutations of model 0: the star alignment recovers both.
        const int width = 12, samples = 400;
        var random = new Random(21);
        var features = new double[3 * width, samples];
        var permutations = new[]
        {
            Enumerable.Range(0, width).ToArray(),
            Enumerable.Range(0, width).OrderBy(_ => random.Next()).ToArray(),
            Enumerable.Range(0, width).OrderBy(_ => random.Next()).ToArray(),
        };
        var basis = new double[width, samples];
        for (var c = 0; c < width; c++)
            for (var s = 0; s < samples; s++) basis[c, s] = random.NextDouble() * 2 - 1;
        for (var m = 0; m < 3; m++)
            for (var c = 0; c < width; c++)
                for (var s = 0; s < samples; s++)
                    features[m * width + permutations[m][c], s] = basis[c, s] + 0.2 * (random.NextDouble() - 0.5);

        var point = new MatchPoint("p", width) { Covariance = CovarianceOf(features) };
        var result = MatchOne(Matcher, 3, point);
        var featureOf = FeatureOf(Values(result.Unmerge), 3 * width, width);
        for (var m = 0; m < 3; m++)
            for (var c = 0; c < width; c++)
                Assert.Equal(c, featureOf[m * width + permutations[m][c]]);
        var merge = Values(result.Merge);
        Assert.Equal(1f / (3f + 1e-5f), merge[0]);
        Assert.Equal(3 * width, merge.Count(v => v != 0f));
    }

    [Fact]
    public void Deterministic_AndInputUnchanged()
    {
        using var covariance = RandomCovariance(2, 30, seed: 4);
        using var before = covariance.clone();
        var point = new MatchPoint("p", 30) { Covariance = covariance };
        var first = MatchOne(Matcher, 2, point);
        var second = MatchOne(Matcher, 2, point);
        Assert.True(first.Unmerge.Equals(second.Unmerge));
        Assert.True(first.Merge.Equals(second.Merge));
        Assert.True(before.Equals(covariance));
    }

    [Fact]
    public void Declaration()
    {
        Assert.Equal("permute", Matcher.Name);
        Assert.Equal(["untie-heads", "merge-eps"], Matcher.Parameters.Select(p => p.Name));
        Assert.Equal(MatcherInputs.Activations, Matcher.RequiredInputs(new MatcherSettings(Matcher.Parameters)));
    }
}
