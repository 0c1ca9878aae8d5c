using System.Globalization;
using ZipIt.Matching;
using ZipIt.Engine.Matching;
using static ZipIt.Tests.Matching.MatchingTestSupport;

namespace ZipIt.Tests.Matching;

/// <summary>Every file of fixtures/matching: the reference's zipit and permute outputs, reproduced.</summary>
public class MatcherFixtureTests
{
    public static TheoryData<string> Cases() => new(MatchingFixture.Names());

    [Theory]
    [MemberData(nameof(Cases))]
    public void ZipIt_ReproducesReference(string name)
    {
        var f = MatchingFixture.Load(name);
        var result = MatchOne(new ZipItMatcher(), f.Models, f.Point(),
            ("alpha", f.Alpha.ToString("R", CultureInfo.InvariantCulture)),
            ("beta", f.Beta.ToString("R", CultureInfo.InvariantCulture)));
        AssertReproduces(f, f.ZipItMerge, f.ZipItUnmerge, result);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Permute_ReproducesReference(string name)
    {
        var f = MatchingFixture.Load(name);
        var result = MatchOne(new PermuteMatcher(), f.Models, f.Point());
        AssertReproduces(f, f.PermuteMerge, f.PermuteUnmerge, result);
    }

    private static void AssertReproduces(MatchingFixture f, float[] merge, float[] unmerge, MatchResult result)
    {
        var units = f.Models * f.Width;
        Assert.Equal([f.Width, units], result.Merge.shape);
        Assert.Equal([units, f.Width], result.Unmerge.shape);
        var actualUnmerge = Values(result.Unmerge);
        // Exact: same groups in the same order; shown as groups when it fails.
        Assert.Equal(Groups(FeatureOf(unmerge, units, f.Width), f.Width), Groups(FeatureOf(actualUnmerge, units, f.Width), f.Width));
        Assert.Equal(unmerge, actualUnmerge);
        var actualMerge = Values(result.Merge);
        for (var k = 0; k < merge.Length; k++)
            Assert.True(Math.Abs(merge[k] - actualMerge[k]) <= 1e-5, $"merge[{k / units}, {k % units}]: {actualMerge[k]} vs {merge[k]}");
    }
}
