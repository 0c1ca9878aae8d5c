using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;
using static ZipIt.Tests.ResNet.ResNetTestUtil;

namespace ZipIt.Tests.ResNet;

/// <summary>
/// The merge graph is complete and correct exactly when permuting every feature space's units
/// (producers and norms by P, consumers by the same P) leaves the network's function unchanged.
/// The permutation code knows nothing about ResNets: it reads only the <see cref="MergeGraph"/>.
/// </summary>
public class ResNetSymmetryTests(ITestOutputHelper output)
{
    public static TheoryData<string, string, int> Models() => new()
    {
        { "resnet20", "width=2", 32 },
        { "resnet20", "norm=gn", 32 },
        { "resnet-bottleneck", "blocks=1,1,1,1", 64 },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void PermutingEverySpaceKeepsTheOutput(string variant, string settings, int size)
    {
        var config = Architecture.Configure(variant, Parse(settings));
        using var g = new Generator(111);
        using var input = randn([2, 3, size, size], generator: g);
        foreach (var seed in new ulong[] { 1, 2 })
        {
            var error = PluginConformance.PermutationSymmetry(Architecture, config, input, tolerance: 1e-4, seed: seed);
            output.WriteLine($"{variant} {settings} seed {seed}: max |permuted - original| = {error:E3}");
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void AnIncompleteDescriptionBreaksTheSymmetry(string variant, string settings, int size)
    {
        var (model, graph, input) = Setup(variant, settings, size, seed: 12);
        using var _m = model;
        using var _i = input;
        using var reference = Eval(model, input);

        // Leave out one consumer of the first residual stream, and separately one of a block-internal point.
        foreach (var space in new[] { graph.Spaces.First(s => s.IsResidualStream), graph.Spaces.First(s => !s.IsResidualStream) })
        {
            var broken = DropConsumer(graph, space.Name, 0);
            var permuted = GraphPermutation.Apply(model.state_dict(), broken, 3);
            using var twin = Architecture.Create(Architecture.Configure(variant, Parse(settings)));
            twin.load_state_dict(permuted);
            using var result = Eval(twin, input);
            var error = MaxAbsDiff(reference, result);
            output.WriteLine($"{variant} {settings} without {space.Consumers[0]}: max diff {error:E3}");
            Assert.True(error > 1e-2, $"dropping a consumer of '{space.Name}' went unnoticed ({error:E3})");
            foreach (var t in permuted.Values) t.Dispose();
        }
    }

    [Fact]
    public void GroupNormSpacesNeedTheirGroupStructure()
    {
        var (model, graph, input) = Setup("resnet20", "norm=gn", 32, seed: 13);
        using var _m = model;
        using var _i = input;
        using var reference = Eval(model, input);
        // The same description without groups: permutations then mix channels across GN groups.
        var ungrouped = graph with { Spaces = graph.Spaces.Select(s => s with { Groups = null }).ToArray() };
        var permuted = GraphPermutation.Apply(model.state_dict(), ungrouped, 4);
        using var twin = Architecture.Create(Architecture.Configure("resnet20", Parse("norm=gn")));
        twin.load_state_dict(permuted);
        using var result = Eval(twin, input);
        var error = MaxAbsDiff(reference, result);
        output.WriteLine($"resnet20 gn, groups ignored: max diff {error:E3}");
        Assert.True(error > 1e-2, $"ignoring GroupNorm groups went unnoticed ({error:E3})");
        foreach (var t in permuted.Values) t.Dispose();
    }

    private static (StagedModel Model, MergeGraph Graph, Tensor Input) Setup(string variant, string settings, int size, ulong seed)
    {
        var config = Architecture.Configure(variant, Parse(settings));
        var model = Architecture.Create(config);
        Randomise(model, seed);
        using var g = new Generator(seed + 100);
        var input = randn([2, 3, size, size], generator: g);
        return (model, Architecture.Describe(config), input);
    }

    /// <summary>The graph with one consumer axis left out of one space: an incomplete description.</summary>
    internal static MergeGraph DropConsumer(MergeGraph graph, string spaceName, int consumerIndex) =>
        graph with
        {
            Spaces = graph.Spaces.Select(s => s.Name != spaceName ? s : s with
            {
                Consumers = s.Consumers.Where((_, i) => i != consumerIndex).ToArray(),
            }).ToArray(),
        };

    private static Dictionary<string, string> Parse(string settings)
    {
        var result = new Dictionary<string, string>();
        var i = settings.IndexOf('=');
        if (i > 0) result[settings[..i]] = settings[(i + 1)..];
        return result;
    }
}
