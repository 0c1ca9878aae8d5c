using System.Diagnostics;
using ZipIt.Fuzz;

namespace ZipIt.Tests.Reliability;

/// <summary>
/// The seeded CI share of the fuzzing (the full run is <c>dotnet run -c Release --project tools/ZipIt.Fuzz -- --inputs 1000000 --seed 1</c>):
/// every mutated input parses or is a zipit error, never another exception and never a hang.
/// </summary>
// Serial: its wall-clock limits (5 s an input, 60 s in all) must not share the cores with other tests.
[Collection(SerialCollection.Name)]
public sealed class FuzzTests
{
    private static void Run(FuzzEngine.Target target, int seed)
    {
        using var dir = new TempDirectory();
        var clock = Stopwatch.StartNew();
        var report = new FuzzEngine(seed, TimeSpan.FromSeconds(5), dir.Path).Run(10_000, targets: [target]);
        Assert.Equal(10_000, report.Inputs);
        Assert.True(report.Failed == 0, string.Join("\n", report.Failures));
        // Mutations must reach past the first checks: some inputs still parse, most are rejected.
        Assert.InRange(report.Parsed, 100, 9_000);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"10,000 inputs took {clock.Elapsed}");
    }

    [Fact]
    public void Ten_thousand_mutated_safetensors_headers_parse_or_are_zipit_errors() => Run(FuzzEngine.Target.Safetensors, 11);

    [Fact]
    public void Ten_thousand_mutated_recipes_load_or_are_zipit_errors() => Run(FuzzEngine.Target.Recipe, 12);
}
