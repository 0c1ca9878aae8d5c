using System.Diagnostics;
using BenchmarkDotNet.Running;
using ZipIt;
using ZipIt.Benchmarks;
using ZipIt.Matching;
using ZipIt.Engine.Matching;

// dotnet run -c Release --project bench/ZipIt.Benchmarks -- --filter '*Matcher*' [--job short]
// dotnet run -c Release --project bench/ZipIt.Benchmarks -- --once [C...]   (one timed run per size, no BenchmarkDotNet)
if (args.Length > 0 && args[0] == "--once")
{
    var sizes = args.Length > 1 ? args[1..].Select(int.Parse).ToArray() : [256, 1024, 2048];
    foreach (var units in sizes)
    {
        using var covariance = CorrelationLikeCovariance.Create(2, units, seed: 42);
        foreach (IMatcher matcher in new IMatcher[] { new ZipItMatcher(), new PermuteMatcher() })
        {
            var context = new MatchContext
            {
                ModelCount = 2,
                Points = [new MatchPoint("layer", units) { Covariance = covariance }],
                Settings = new MatcherSettings(matcher.Parameters),
            };
            var watch = Stopwatch.StartNew();
            var result = matcher.Match(context)["layer"];
            Console.WriteLine($"{matcher.Name,-8} C={units,5}: {watch.Elapsed.TotalSeconds:F3} s");
            result.Merge.Dispose();
            result.Unmerge.Dispose();
        }
    }
    return;
}
// In process: BenchmarkDotNet's generated per-job project skips Directory.Build.targets, so it would
// carry the unpatched libLibTorchSharp.so, which cannot load on Debian 12 (see build/). This
// process already has the patched copy.
if (!args.Contains("--inProcess", StringComparer.OrdinalIgnoreCase) && !args.Contains("-i"))
    args = [.. args, "--inProcess"];
BenchmarkSwitcher.FromAssembly(typeof(MatcherBenchmarks).Assembly).Run(args);
