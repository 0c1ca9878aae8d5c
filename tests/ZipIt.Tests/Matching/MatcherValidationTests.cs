using ZipIt.Matching;
using ZipIt.Engine.Matching;
using static TorchSharp.torch;
using static ZipIt.Tests.Matching.MatchingTestSupport;

namespace ZipIt.Tests.Matching;

/// <summary>Bad input gives one ArgumentException line that names the point (or the setting).</summary>
public class MatcherValidationTests
{
    public static TheoryData<string> SimilarityMatchers() => new(["zipit", "permute"]);

    private static IMatcher Create(string name) => name switch
    {
        "zipit" => new ZipItMatcher(),
        "permute" => new PermuteMatcher(),
        _ => new AverageMatcher(),
    };

    private static string Message(IMatcher matcher, int models, MatchPoint point, params (string, string)[] settings)
    {
        var e = Assert.Throws<ArgumentException>(() => MatchOne(matcher, models, point, settings));
        Assert.DoesNotContain('\n', e.Message);
        return e.Message;
    }

    [Theory]
    [MemberData(nameof(SimilarityMatchers))]
    public void CovarianceProblems(string name)
    {
        var matcher = Create(name);
        Assert.Equal($"point 'p': the {name} matcher needs the point's covariance (collect activations first)",
            Message(matcher, 2, new MatchPoint("p", 4)));
        Assert.Equal("point 'p': covariance must be square [N·C, N·C], got [8, 7]",
            Message(matcher, 2, new MatchPoint("p", 4) { Covariance = zeros(8, 7, dtype: ScalarType.Float64) }));
        Assert.Equal("point 'p': covariance must be square [N·C, N·C], got [64]",
            Message(matcher, 2, new MatchPoint("p", 4) { Covariance = zeros(64, dtype: ScalarType.Float64) }));
        Assert.Equal("point 'p': covariance is [8, 8] but N·C = 3·4 = 12",
            Message(matcher, 3, new MatchPoint("p", 4) { Covariance = eye(8, dtype: ScalarType.Float64) }));
        Assert.Equal("point 'p': covariance must be floating point, got Int64",
            Message(matcher, 2, new MatchPoint("p", 4) { Covariance = eye(8, dtype: ScalarType.Int64) }));

        using var nan = eye(8, dtype: ScalarType.Float64);
        nan[1, 2] = tensor(double.NaN);
        nan[3, 3] = tensor(double.PositiveInfinity);
        Assert.Equal("point 'p': covariance has 2 NaN or infinite entries (in float32)",
            Message(matcher, 2, new MatchPoint("p", 4) { Covariance = nan }));
        using var overflow = eye(8, dtype: ScalarType.Float64) * 1e300;
        Assert.Equal("point 'p': covariance has 8 NaN or infinite entries (in float32)",
            Message(matcher, 2, new MatchPoint("p", 4) { Covariance = overflow }));

        Assert.Equal("point 'p': width 4 is not divisible into 3 groups",
            Message(matcher, 2, GoldenMatrix.Point("p") with { Groups = new GroupStructure(3) }));
        Assert.Equal($"point 'p': the {name} matcher needs the point's covariance (collect activations first)",
            Message(matcher, 2, new MatchPoint("p", 4) { Groups = new GroupStructure(2) }));
    }

    [Theory]
    [InlineData("zipit")]
    [InlineData("permute")]
    [InlineData("average")]
    public void ContextProblems(string name)
    {
        var matcher = Create(name);
        Assert.Equal($"the {name} matcher needs at least 2 models, got 1", Message(matcher, 1, GoldenMatrix.Point("p")));
        Assert.Equal("point 'p': width must be at least 1, got 0", Message(matcher, 2, new MatchPoint("p", 0)));
        var twice = Assert.Throws<ArgumentException>(() =>
            matcher.Match(Context(matcher, 2, [GoldenMatrix.Point("p"), GoldenMatrix.Point("p")])));
        Assert.Equal("point 'p' appears more than once", twice.Message);
        Assert.Equal("matcher setting 'merge-eps' must be at least 0, got -1",
            Message(matcher, 2, GoldenMatrix.Point("p"), ("merge-eps", "-1")));
        Assert.Throws<ArgumentException>(() => new MatcherSettings(matcher.Parameters, new Dictionary<string, string> { ["gamma"] = "1" }));
    }

    [Fact]
    public void ZipItSettings()
    {
        var matcher = new ZipItMatcher();
        Assert.Equal("matcher setting 'alpha' must be a number, got 'high'", Message(matcher, 2, GoldenMatrix.Point(), ("alpha", "high")));
        Assert.Equal("matcher setting 'alpha' must be 0 or less, or between 1e-45 and 3.4e38, got 1E-50", Message(matcher, 2, GoldenMatrix.Point(), ("alpha", "1e-50")));
        Assert.Equal("matcher setting 'beta' must be at least 0, got -0.5", Message(matcher, 2, GoldenMatrix.Point(), ("beta", "-0.5")));
        Assert.Equal("matcher setting 'strict-beta' must be true or false, got 'yes'", Message(matcher, 2, GoldenMatrix.Point(), ("strict-beta", "yes")));
        Assert.StartsWith("matcher setting 'no-repeat' needs 2 models",
            Message(matcher, 3, new MatchPoint("p", 2) { Covariance = eye(6, dtype: ScalarType.Float64) }, ("no-repeat", "true")));

        // RequiredInputs refuses bad settings before any statistics are collected.
        var bad = new MatcherSettings(matcher.Parameters, new Dictionary<string, string> { ["beta"] = "-1" });
        Assert.Throws<ArgumentException>(() => matcher.RequiredInputs(bad));
    }
}
