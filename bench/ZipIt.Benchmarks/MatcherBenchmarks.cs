using BenchmarkDotNet.Attributes;
using ZipIt.Matching;
using ZipIt.Engine.Matching;
using static TorchSharp.torch;

namespace ZipIt.Benchmarks;

/// <summary>
/// The built-in similarity matchers on one merge point of two models with C units each. The reference
/// greedy matcher takes 0.33 s / 2.1 s / 20.8 s for C = 256 / 512 / 1024 on a 16-core CPU.
/// </summary>
[MemoryDiagnoser]
public class MatcherBenchmarks
{
    private MatchContext _zipit = null!;
    private MatchContext _permute = null!;
    private Tensor _covariance = null!;

    [Params(256, 1024, 2048)]
    public int Units { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _covariance = CorrelationLikeCovariance.Create(models: 2, Units, seed: 42);
        var point = new MatchPoint("layer", Units) { Covariance = _covariance };
        _zipit = Context(new ZipItMatcher(), point);
        _permute = Context(new PermuteMatcher(), point);
    }

    [GlobalCleanup]
    public void Cleanup() => _covariance.Dispose();

    [Benchmark]
    public MatchResult ZipIt() => Run(new ZipItMatcher(), _zipit);

    [Benchmark]
    public MatchResult Permute() => Run(new PermuteMatcher(), _permute);

    private static MatchContext Context(IMatcher matcher, MatchPoint point) => new()
    {
        ModelCount = 2,
        Points = [point],
        Settings = new MatcherSettings(matcher.Parameters),
    };

    private static MatchResult Run(IMatcher matcher, MatchContext context)
    {
        var result = matcher.Match(context)["layer"];
        // The tensors live in native memory; free them here so iterations do not pile them up.
        result.Merge.Dispose();
        result.Unmerge.Dispose();
        return result;
    }
}
