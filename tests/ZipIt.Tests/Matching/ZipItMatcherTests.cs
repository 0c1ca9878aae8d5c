using System.Globalization;
using TorchSharp;
using ZipIt.Matching;
using ZipIt.Engine.Matching;
using static TorchSharp.torch;
using static ZipIt.Tests.Matching.MatchingTestSupport;

namespace ZipIt.Tests.Matching;

public class ZipItMatcherTests
{
    private static readonly ZipItMatcher Matcher = new();

    private static string Match(MatchPoint point, int models, params (string, string)[] settings)
    {
        var result = MatchOne(Matcher, models, point, settings);
        var units = models * point.Width;
        return Groups(FeatureOf(Values(result.Unmerge), units, point.Width), point.Width);
    }

    [Theory]
    // Spec §13.2, every row of the table.
    [InlineData("1.0", "1.0", "{0} {1,2,7} {3,6} {4,5}")]
    [InlineData("0.5", "1.0", "{0} {1,2,7} {3,6} {4,5}")]
    [InlineData("0.1", "0.5", "{0,1} {2,7} {3,6} {4,5}")]
    [InlineData("0.0001", "0.0", "{0,1} {2,7} {3,6} {4,5}")] // β = 0 still allows one same-model merge per model (P9)
    [InlineData("0.3", "0.125", "{0,1} {2,7} {3,6} {4,5}")]
    public void GoldenVector_13_2(string alpha, string beta, string groups) =>
        Assert.Equal(groups, Match(GoldenMatrix.Point(), 2, ("alpha", alpha), ("beta", beta)));

    [Fact]
    public void GoldenVector_13_2_Matrices()
    {
        var result = MatchOne(Matcher, 2, GoldenMatrix.Point(), ("alpha", "1"), ("beta", "1"));
        Assert.Equal(ScalarType.Float32, result.Merge.dtype);
        Assert.Equal(ScalarType.Float32, result.Unmerge.dtype);
        Assert.Equal(DeviceType.CPU, result.Merge.device_type);
        Assert.Equal([4L, 8L], result.Merge.shape);
        Assert.Equal([8L, 4L], result.Unmerge.shape);

        var u = new float[8 * 4];
        foreach (var (k, g) in new[] { (0, 0), (1, 1), (2, 1), (7, 1), (3, 2), (6, 2), (4, 3), (5, 3) }) u[k * 4 + g] = 1f;
        Assert.Equal(u, Values(result.Unmerge));

        var m = new float[4 * 8];
        m[0 * 8 + 0] = 1f / (1f + 1e-5f);
        foreach (var k in new[] { 1, 2, 7 }) m[1 * 8 + k] = 1f / (3f + 1e-5f);
        foreach (var k in new[] { 3, 6 }) m[2 * 8 + k] = 1f / (2f + 1e-5f);
        foreach (var k in new[] { 4, 5 }) m[3 * 8 + k] = 1f / (2f + 1e-5f);
        Assert.Equal(m, Values(result.Merge));
    }

    [Fact]
    public void StrictBeta_ZeroBudgetIsPermutation()
    {
        // The paper's β = 0: no same-model merge at all, which here gives the §13.3 permutation.
        Assert.Equal("{0,5} {1,4} {2,7} {3,6}",
            Match(GoldenMatrix.Point(), 2, ("alpha", "0.0001"), ("beta", "0"), ("strict-beta", "true")));
        // With a non-zero quota strict-beta changes nothing.
        Assert.Equal("{0,1} {2,7} {3,6} {4,5}",
            Match(GoldenMatrix.Point(), 2, ("alpha", "0.3"), ("beta", "0.5"), ("strict-beta", "true")));
    }

    [Fact]
    public void NoRepeat_NeverGrowsAMergedFeature()
    {
        // α = 1, β = 1 would make {1,2,7}; without repeated merges 0 and 1 pair up instead.
        Assert.Equal("{0,1} {2,7} {3,6} {4,5}", Match(GoldenMatrix.Point(), 2, ("alpha", "1"), ("beta", "1"), ("no-repeat", "true")));
    }

    [Fact]
    public void MergeEps_SetsTheWeights()
    {
        var result = MatchOne(Matcher, 2, GoldenMatrix.Point(), ("alpha", "1"), ("beta", "1"), ("merge-eps", "0"));
        var m = Values(result.Merge);
        Assert.Equal(1f / 3f, m[1 * 8 + 2]);
        Assert.Equal(1f, m[0]);
    }

    [Fact]
    public void Float32TiesAreBrokenAsTheReferenceDoes()
    {
        // (0,2) and (0,3) differ by 1e-12 in float64 but tie in float32, where the reference works:
        // the first in row-major order, (0,2), must win.
        double[] c =
        [
            1.0, 0.1, 0.9, 0.9 + 1e-12,
            0.1, 1.0, 0.1, 0.2,
            0.9, 0.1, 1.0, 0.1,
            0.9 + 1e-12, 0.2, 0.1, 1.0,
        ];
        var point = new MatchPoint("tie", 2) { Covariance = tensor(c, [4, 4], ScalarType.Float64) };
        Assert.Equal("{0,2} {1,3}", Match(point, 2, ("alpha", "0.5"), ("beta", "0")));
    }

    [Theory]
    [InlineData(3, 5, 0.5, 0.5)]
    [InlineData(3, 16, 0.3, 0.125)]
    [InlineData(4, 6, 0.5, 1.0)]
    [InlineData(4, 12, 0.9, 0.25)]
    [InlineData(2, 40, 0.0, 0.5)]
    public void MoreModels_MatchesTheRestatement(int models, int width, double alpha, double beta)
    {
        using var covariance = RandomCovariance(models, width, seed: models * 100 + width);
        var point = new MatchPoint("p", width) { Covariance = covariance };
        var a = alpha.ToString(CultureInfo.InvariantCulture);
        var b = beta.ToString(CultureInfo.InvariantCulture);
        var result = MatchOne(Matcher, models, point, ("alpha", a), ("beta", b));
        var units = models * width;
        var featureOf = FeatureOf(Values(result.Unmerge), units, width);

        var similarity = Values(ZipIt.Matching.Correlation.FromCovariance(covariance));
        Assert.Equal(NaiveZipIt.Match(similarity, models, width, alpha, beta), featureOf);

        // A partition into C non-empty features whose merge rows average their members.
        Assert.All(featureOf, g => Assert.InRange(g, 0, width - 1));
        var merge = Values(result.Merge);
        for (var g = 0; g < width; g++)
        {
            var members = Enumerable.Range(0, units).Where(k => featureOf[k] == g).ToArray();
            Assert.NotEmpty(members);
            var sum = Enumerable.Range(0, units).Sum(k => merge[g * units + k]);
            Assert.Equal(1.0, sum, 1e-4);
            // Features are numbered by their smallest member.
            if (g > 0) Assert.True(members[0] > Enumerable.Range(0, units).First(k => featureOf[k] == g - 1));
        }
    }

    [Fact]
    public void Deterministic_AndInputUnchanged()
    {
        using var covariance = RandomCovariance(3, 20, seed: 5);
        using var single = covariance.to_type(ScalarType.Float32);
        using var before = single.clone();
        var point = new MatchPoint("p", 20) { Covariance = single };
        var first = MatchOne(Matcher, 3, point);
        var second = MatchOne(Matcher, 3, point);
        Assert.True(first.Merge.Equals(second.Merge));
        Assert.True(first.Unmerge.Equals(second.Unmerge));
        Assert.True(before.Equals(single));
    }

    [Fact]
    public void SeveralPoints_OneResultEach()
    {
        using var covariance = RandomCovariance(2, 6, seed: 8);
        var points = new[] { GoldenMatrix.Point("a"), new MatchPoint("b", 6) { Covariance = covariance } };
        var results = Matcher.Match(Context(Matcher, 2, points));
        Assert.Equal(["a", "b"], results.Keys.Order());
        Assert.Equal([6L, 12L], results["b"].Merge.shape);
    }

    [Fact]
    public void Cancellation_IsObserved()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var context = new MatchContext
        {
            ModelCount = 2,
            Points = [GoldenMatrix.Point()],
            Settings = new MatcherSettings(Matcher.Parameters),
            CancellationToken = cancelled.Token,
        };
        Assert.ThrowsAny<OperationCanceledException>(() => Matcher.Match(context));
    }

    [Fact]
    public void EveryPairMasked_LiftsTheMasksAndWarns()
    {
        // N = 3, C = 2, no same-model merges allowed: after {1,4}, {0,3} and {2,5} every pair of the
        // three features shares a model, so all are masked; the reference's argmax would then merge
        // feature 0 with itself and lose it. Unmasked, {0,3}–{1,4} is best: 0.3²·min = 0.09·(−0.3).
        double[] c =
        [
             1.0, -0.2,  0.2,  0.3, -0.3,  0.1,
            -0.2,  1.0, -0.3, -0.2,  0.4, -0.1,
             0.2, -0.3,  1.0, -0.1,  0.0,  0.3,
             0.3, -0.2, -0.1,  1.0,  0.2, -0.4,
            -0.3,  0.4,  0.0,  0.2,  1.0, -0.4,
             0.1, -0.1,  0.3, -0.4, -0.4,  1.0,
        ];
        var point = new MatchPoint("stuck", 2) { Covariance = tensor(c, [6, 6], ScalarType.Float64) };
        var logger = new ListLogger();
        var context = Context(Matcher, 3, [point], ("alpha", "0.3"), ("beta", "0"), ("strict-beta", "true"));
        var result = Matcher.Match(new MatchContext
        {
            ModelCount = 3, Points = context.Points, Settings = context.Settings, Logger = logger,
        })["stuck"];
        Assert.Equal("{0,1,3,4} {2,5}", Groups(FeatureOf(Values(result.Unmerge), 6, 2), 2));
        var warning = Assert.Single(logger.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal));
        Assert.Equal("Warning: zipit: point 'stuck': every remaining pair was masked after 3 of 4 merges; the last 1 ignore the masks " +
            "(the reference would lose a feature here); a larger beta usually avoids this", warning);
    }

    [Fact]
    public void Declaration()
    {
        Assert.Equal("zipit", Matcher.Name);
        Assert.Equal(["alpha=0.5", "beta=0.5", "strict-beta=false", "no-repeat=false", "untie-heads=false", "merge-eps=1e-05"],
            Matcher.Parameters.Select(p => $"{p.Name}={p.Default}"));
        Assert.All(Matcher.Parameters, p => Assert.False(string.IsNullOrWhiteSpace(p.Description)));
        Assert.Equal(MatcherInputs.Activations, Matcher.RequiredInputs(new MatcherSettings(Matcher.Parameters)));
    }
}
