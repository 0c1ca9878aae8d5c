using MlpPlugin;
using TorchSharp;
using ZipIt;
using ZipIt.Testing;

namespace MlpPlugin.Tests;

/// <summary>The checks zipit's host relies on, for several MLP configurations.</summary>
public sealed class MlpConformanceTests
{
    private static readonly MlpArchitecture Architecture = new();

    public static TheoryData<string, string> Configurations() => new()
    {
        { "12,16,8,3", "true" },
        { "12,16,8,3", "false" },
        { "20,32,3", "true" },
    };

    private static ArchitectureConfig Config(string sizes, string bias) =>
        Architecture.Configure("mlp", new Dictionary<string, string> { ["sizes"] = sizes, ["bias"] = bias });

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Every_check_passes(string sizes, string bias)
    {
        var config = Config(sizes, bias);
        using var input = torch.randn(4, long.Parse(sizes.Split(',')[0]), generator: new torch.Generator(5));
        PluginConformance.CheckAll(Architecture, config, input);
    }

    [Fact]
    public void The_default_variant_validates_and_round_trips()
    {
        PluginConformance.Validate(Architecture, "mlp");
        PluginConformance.RecognizeRoundTrip(Architecture, Architecture.Configure("mlp"));
    }

    [Fact]
    public void A_description_that_forgets_a_consumer_fails_both_checks()
    {
        var forgetful = new ForgetfulMlp();
        var config = forgetful.Configure("mlp", new Dictionary<string, string> { ["sizes"] = "12,16,8,3" });
        var invalid = Assert.Throws<ConformanceException>(() => PluginConformance.Validate(forgetful, config));
        Assert.Contains("tensor 'layers.1.weight' axis 1 is in no feature space", invalid.Message);
        using var input = torch.randn(4, 12, generator: new torch.Generator(6));
        var asymmetric = Assert.Throws<ConformanceException>(() => PluginConformance.PermutationSymmetry(forgetful, config, input));
        Assert.Contains("changed the output", asymmetric.Message);
    }

    /// <summary>The MLP with the first hidden space's consumer left out of its graph.</summary>
    private sealed class ForgetfulMlp : IArchitecture
    {
        public string Name => Architecture.Name;
        public string Description => Architecture.Description;
        public IReadOnlyList<ArchitectureVariant> Variants => Architecture.Variants;
        public ArchitectureConfig? Recognize(CheckpointSignature checkpoint) => Architecture.Recognize(checkpoint);
        public ArchitectureConfig Configure(string variant, IReadOnlyDictionary<string, string>? settings = null) => Architecture.Configure(variant, settings);
        public StagedModel Create(ArchitectureConfig config) => Architecture.Create(config);

        public MergeGraph Describe(ArchitectureConfig config)
        {
            var graph = Architecture.Describe(config);
            return graph with { Spaces = graph.Spaces.Select(s => s.Name == "hidden0" ? s with { Consumers = [] } : s).ToArray() };
        }
    }
}
