using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Snapshooter;
using Snapshooter.Xunit;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Core;
using ZipIt.Engine.Models;
using ZipIt.Engine.Plugins;

namespace ZipIt.Tests.Cli;

/// <summary><c>inspect --graph</c> pins the merge graph of every registered variant, and every load checks the graph.</summary>
[Trait("Category", ZipIt.Tests.Infrastructure.Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class InspectGraphTests
{
    /// <summary>
    /// Every variant the bundled plugins register, found at discovery time: a plugin added to the
    /// tool (and its variants) gets its snapshots here without editing this list.
    /// </summary>
    public static TheoryData<string> RegisteredVariants() => new(VariantNames());

    private static List<string> VariantNames()
    {
        var catalog = ZipIt.Engine.Plugins.PluginHost.Load(
            new PluginSearchPath(Path.Combine(AppContext.BaseDirectory, "plugins"), [], [], "/nonexistent"), NullLogger.Instance, new ZipIt.Engine.Matching.BuiltInMatchers());
        return catalog.Architectures.SelectMany(a => a.Architecture.Variants).Select(v => v.Name).Order(StringComparer.Ordinal).ToList();
    }

    [Fact]
    public void The_bundled_variants_are_found()
    {
        var variants = VariantNames();
        Assert.Contains("resnet20", variants);
        Assert.Contains("resnet50", variants);
    }

    [Theory]
    [MemberData(nameof(RegisteredVariants))]
    public void Graph_text_has_not_changed(string variant)
    {
        var result = Tool.Run("inspect", "--graph", variant);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("", result.Error);
        Snapshot.Match(Scrub.Text(result.Out), SnapshotNameExtension.Create(variant));
    }

    [Theory]
    [MemberData(nameof(RegisteredVariants))]
    public void Graph_json_lists_every_space_and_stage(string variant)
    {
        var result = Tool.Run("inspect", "--graph", variant, "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        var root = JsonDocument.Parse(result.Out).RootElement;
        Assert.Equal(variant, root.GetProperty("architecture").GetProperty("variant").GetString());
        var graph = root.GetProperty("graph");
        var text = Tool.Run("inspect", "--graph", variant).Out;
        Assert.Contains($"spaces:       {graph.GetProperty("spaces").GetArrayLength()}\n", text);
        Assert.Contains($"stages:       {graph.GetProperty("stages").GetArrayLength()}\n", text);
        Assert.All(graph.GetProperty("spaces").EnumerateArray(), s => Assert.NotEqual(0, s.GetProperty("taps").GetArrayLength()));
    }

    [Fact]
    public void Graph_json_of_resnet20_has_the_reference_structure()
    {
        var root = JsonDocument.Parse(Tool.Run("inspect", "--graph", "resnet20", "--arch-set", "width=2", "--json").Out).RootElement;
        Assert.Equal("2", root.GetProperty("architecture").GetProperty("settings").GetProperty("width").GetString());
        var graph = root.GetProperty("graph");
        Assert.Equal(20, graph.GetProperty("layerCount").GetInt32());
        var input = Assert.Single(graph.GetProperty("inputs").EnumerateArray());
        Assert.Equal(("conv1.weight", 1), (input.GetProperty("tensor").GetString(), input.GetProperty("axis").GetInt32()));
        Assert.Equal(["linear.weight", "linear.bias"], graph.GetProperty("outputs").EnumerateArray().Select(a => a.GetProperty("tensor").GetString()));
        var layer1 = graph.GetProperty("spaces").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "layer1");
        Assert.Equal(32, layer1.GetProperty("width").GetInt32());
        Assert.True(layer1.GetProperty("residualStream").GetBoolean());
        Assert.Equal("norm-weight", layer1.GetProperty("norms")[0].GetProperty("kind").GetString());
        Assert.Equal(["7/20", "13/20", "19/20"], graph.GetProperty("stages").EnumerateArray()
            .Select(s => s.TryGetProperty("stopLabel", out var l) ? l.GetString() : null).Where(l => l is not null));
    }

    [Fact]
    public void A_checkpoint_shows_the_graph_of_its_configuration()
    {
        var fromFile = Tool.Run("inspect", "--graph", Repository.Fixture("parity", "resnet20x2_cifar.safetensors"));
        var fromVariant = Tool.Run("inspect", "--graph", "resnet20", "--arch-set", "width=2");
        Assert.True(fromFile.ExitCode == 0, fromFile.ToString());
        Assert.Contains("architecture: resnet/resnet20 (", fromFile.Out);
        // Identical apart from the source line.
        Assert.Equal(fromVariant.Out.Split('\n').Skip(1), fromFile.Out.Split('\n').Skip(1));
    }

    [Fact]
    public void Bad_graph_arguments_are_usage_errors()
    {
        var unknown = Tool.Run("inspect", "--graph", "no-such-variant");
        Assert.Equal(2, unknown.ExitCode);
        ExitCodeTests.AssertOneErrorLine(unknown, "no-such-variant");
        // A checkpoint's settings come from the file: one the user gives must hold, never be dropped.
        var contrary = Tool.Run("inspect", Repository.Fixture("parity", "resnet20x2_cifar.safetensors"), "--arch-set", "width=4");
        Assert.Equal(3, contrary.ExitCode);
        ExitCodeTests.AssertOneErrorLine(contrary, "--arch-set width=4: resnet20x2_cifar.safetensors has width=2");
        var unknownSetting = Tool.Run("inspect", Repository.Fixture("parity", "resnet20x2_cifar.safetensors"), "--arch-set", "heads=6");
        Assert.Equal(2, unknownSetting.ExitCode);
        ExitCodeTests.AssertOneErrorLine(unknownSetting, "has no setting 'heads'");
        var holding = Tool.Run("inspect", Repository.Fixture("parity", "resnet20x2_cifar.safetensors"), "--arch-set", "width=2");
        Assert.True(holding.ExitCode == 0, holding.ToString());
        var badSetting = Tool.Run("inspect", "--graph", "resnet20", "--arch-set", "depth=3");
        Assert.Equal(2, badSetting.ExitCode);
        ExitCodeTests.AssertOneErrorLine(badSetting, "depth");
    }

    [Fact]
    public void A_plugin_whose_graph_does_not_fit_its_model_is_refused_on_load_with_exit_4()
    {
        var resnet = new ZipIt.Plugins.ResNet.ResNetArchitecture();
        var plugin = new LoadedPlugin("ForgetfulPlugin", "1.0.0", "/nonexistent/ForgetfulPlugin.dll", PluginSource.CommandLine);
        var catalog = new PluginCatalog([plugin], [(new ForgetfulArchitecture(resnet), plugin)], [], []);
        var error = Assert.Throws<ZipItException>(() =>
        {
            using var model = new ModelLoader(catalog).Load(Repository.Fixture("parity", "resnet20x2_cifar.safetensors"), TorchSharp.torch.CPU);
        });
        Assert.Equal(ExitCode.Plugin, error.Code);
        Assert.Equal(
            "plugin ForgetfulPlugin describes variant resnet20 inconsistently: tensor 'layer2.0.shortcut.0.weight' axis 1 is in no feature space and not declared a model input",
            error.Message);
    }

    /// <summary>ResNet with one consumer (layer2.0's shortcut input columns) left out of its graph.</summary>
    private sealed class ForgetfulArchitecture(IArchitecture inner) : IArchitecture
    {
        public string Name => inner.Name;
        public string Description => inner.Description;
        public IReadOnlyList<ArchitectureVariant> Variants => inner.Variants;
        public ArchitectureConfig? Recognize(CheckpointSignature checkpoint) => inner.Recognize(checkpoint);
        public ArchitectureConfig Configure(string variant, IReadOnlyDictionary<string, string>? settings = null) => inner.Configure(variant, settings);
        public StagedModel Create(ArchitectureConfig config) => inner.Create(config);

        public MergeGraph Describe(ArchitectureConfig config)
        {
            var graph = inner.Describe(config);
            return graph with
            {
                Spaces = graph.Spaces.Select(s => s with { Consumers = s.Consumers.Where(c => c.Tensor != "layer2.0.shortcut.0.weight").ToArray() }).ToArray(),
            };
        }
    }
}
