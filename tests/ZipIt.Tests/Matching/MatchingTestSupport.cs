using System.Globalization;
using Microsoft.Extensions.Logging;
using TorchSharp;
using ZipIt.Engine.Checkpoints;
using static TorchSharp.torch;

namespace ZipIt.Tests.Matching;

/// <summary>One file of ../shared/fixtures/matching: a covariance and the reference matchers' outputs.</summary>
internal sealed record MatchingFixture(
    string Name, int Width, int Models, double Alpha, double Beta,
    float[] Covariance, float[] ZipItMerge, float[] ZipItUnmerge, float[] PermuteMerge, float[] PermuteUnmerge)
{
    public static IEnumerable<string> Names() =>
        Directory.EnumerateFiles(FixtureFolder(), "*.safetensors").Select(Path.GetFileName).Order(StringComparer.Ordinal)!;

    public static MatchingFixture Load(string name)
    {
        using var checkpoint = Checkpoint.Open(Repository.Fixture("matching", name));
        float[] Read(string tensor)
        {
            using var t = checkpoint.Read(tensor);
            return t.contiguous().data<float>().ToArray();
        }
        var meta = checkpoint.Metadata;
        return new MatchingFixture(name,
            int.Parse(meta["n_per_model"], CultureInfo.InvariantCulture),
            int.Parse(meta["models"], CultureInfo.InvariantCulture),
            double.Parse(meta["alpha"], CultureInfo.InvariantCulture),
            double.Parse(meta["beta"], CultureInfo.InvariantCulture),
            Read("covariance"), Read("zipit_merge"), Read("zipit_unmerge"), Read("permute_merge"), Read("permute_unmerge"));
    }

    /// <summary>The covariance as the pipeline hands it to a matcher: float64 (exactly the fixture's float32 values).</summary>
    public MatchPoint Point() => new("fixture", Width)
    {
        Covariance = tensor(Covariance, [Models * Width, Models * Width], ScalarType.Float32).to_type(ScalarType.Float64),
    };

    private static string FixtureFolder() => Path.GetDirectoryName(Repository.Fixture("matching", "case00_n8_a0.5_b0.5.safetensors"))!;
}

internal static class MatchingTestSupport
{
    public static MatchContext Context(IMatcher matcher, int models, IReadOnlyList<MatchPoint> points, params (string Key, string Value)[] settings) =>
        new()
        {
            ModelCount = models,
            Points = points,
            Settings = new MatcherSettings(matcher.Parameters, settings.ToDictionary(s => s.Key, s => s.Value)),
        };

    public static MatchResult MatchOne(IMatcher matcher, int models, MatchPoint point, params (string Key, string Value)[] settings) =>
        matcher.Match(Context(matcher, models, [point], settings))[point.Name];

    public static float[] Values(Tensor t) => t.contiguous().data<float>().ToArray();

    /// <summary>For every stacked unit, the merged feature its unmerge row marks (-1 if none or several).</summary>
    public static int[] FeatureOf(float[] unmerge, int units, int features)
    {
        var result = new int[units];
        for (var k = 0; k < units; k++)
        {
            result[k] = -1;
            var ones = 0;
            for (var g = 0; g < features; g++)
                if (unmerge[k * features + g] != 0f) { result[k] = g; ones++; }
            if (ones != 1) result[k] = -1;
        }
        return result;
    }

    public static string Groups(int[] featureOf, int features) =>
        string.Join(" ", Enumerable.Range(0, features).Select(g =>
            "{" + string.Join(",", Enumerable.Range(0, featureOf.Length).Where(k => featureOf[k] == g)) + "}"));

    /// <summary>A float64 covariance from the given [units, samples] features (population covariance).</summary>
    public static Tensor CovarianceOf(double[,] features)
    {
        var units = features.GetLength(0);
        var samples = features.GetLength(1);
        var mean = new double[units];
        for (var i = 0; i < units; i++)
        {
            for (var s = 0; s < samples; s++) mean[i] += features[i, s];
            mean[i] /= samples;
        }
        var cov = new double[units * units];
        for (var i = 0; i < units; i++)
            for (var j = 0; j < units; j++)
            {
                var sum = 0.0;
                for (var s = 0; s < samples; s++) sum += features[i, s] * features[j, s];
                cov[i * units + j] = sum / samples - mean[i] * mean[j];
            }
        return tensor(cov, [units, units], ScalarType.Float64);
    }

    /// <summary>A correlation-like covariance: model i's units are a noisy permutation of model 0's plus some within-model duplicates.</summary>
    public static Tensor RandomCovariance(int models, int width, int seed, int samples = 48)
    {
        var random = new Random(seed);
        var units = models * width;
        var features = new double[units, samples];
        var basis = new double[width, samples];
        for (var c = 0; c < width; c++)
            for (var s = 0; s < samples; s++) basis[c, s] = random.NextDouble() * 2 - 1;
        for (var m = 0; m < models; m++)
        {
            var permutation = Enumerable.Range(0, width).OrderBy(_ => random.Next()).ToArray();
            for (var c = 0; c < width; c++)
            {
                var source = random.Next(4) == 0 ? random.Next(width) : permutation[c];
                for (var s = 0; s < samples; s++)
                    features[m * width + c, s] = basis[source, s] + 0.7 * (random.NextDouble() * 2 - 1);
            }
        }
        return CovarianceOf(features);
    }
}

/// <summary>Collects "Level: message" lines.</summary>
internal sealed class ListLogger : ILogger
{
    public List<string> Lines { get; } = [];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Lines.Add($"{logLevel}: {formatter(state, exception)}");
}
