using ZipIt.Matching;
using ZipIt.Engine.Matching;
using static ZipIt.Tests.Matching.MatchingTestSupport;

namespace ZipIt.Tests.Matching;

public class AverageMatcherTests
{
    private static readonly AverageMatcher Matcher = new();

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void UnitRofEveryModel_FormsFeatureR(int models)
    {
        const int width = 5;
        var result = MatchOne(Matcher, models, new MatchPoint("p", width));   // no covariance needed
        var units = models * width;
        Assert.Equal([(long)width, units], result.Merge.shape);
        Assert.Equal([(long)units, width], result.Unmerge.shape);

        var unmerge = Values(result.Unmerge);
        var merge = Values(result.Merge);
        var weight = 1f / (models + 1e-5f);
        for (var k = 0; k < units; k++)
            for (var g = 0; g < width; g++)
            {
                var member = k % width == g;
                Assert.Equal(member ? 1f : 0f, unmerge[k * width + g]);
                Assert.Equal(member ? weight : 0f, merge[g * units + k]);
            }
    }

    [Fact]
    public void GroupsAreKept_AndCovarianceIgnored()
    {
        var point = GoldenMatrix.Point() with { Groups = new GroupStructure(2) };
        var result = MatchOne(Matcher, 2, point, ("merge-eps", "0"));
        Assert.Equal(0.5f, Values(result.Merge)[0]);

        var bad = new MatchPoint("odd", 5) { Groups = new GroupStructure(2) };
        Assert.Equal("point 'odd': width 5 is not divisible into 2 groups",
            Assert.Throws<ArgumentException>(() => MatchOne(Matcher, 2, bad)).Message);
    }

    [Fact]
    public void Declaration()
    {
        Assert.Equal("average", Matcher.Name);
        Assert.Equal(MatcherInputs.None, Matcher.RequiredInputs(new MatcherSettings(Matcher.Parameters)));
    }
}
