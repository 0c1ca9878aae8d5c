using TorchSharp;
using ZipIt;
using ZipIt.Testing;

namespace MyZipItPlugin.Tests;

/// <summary>The checks zipit's host relies on: the graph fits the model, permutations keep the outputs, recognition round-trips.</summary>
public sealed class ConformanceTests
{
    private static readonly TinyConvArchitecture Architecture = new();

    public static TheoryData<string, string> Settings() => new()
    {
        { "width", "16" },
        { "width", "4" },
        { "classes", "3" },
    };

    [Theory]
    [MemberData(nameof(Settings))]
    public void Every_conformance_check_passes(string key, string value)
    {
        var config = Architecture.Configure("tinyconv", new Dictionary<string, string> { [key] = value });
        using var input = torch.randn(2, 3, 12, 12, generator: new torch.Generator(1));
        PluginConformance.CheckAll(Architecture, config, input);
    }

    [Fact]
    public void Every_registered_variant_validates()
    {
        foreach (var variant in Architecture.Variants)
            PluginConformance.Validate(Architecture, variant.Name);
    }
}
