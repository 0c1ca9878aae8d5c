using static ZipIt.Tests.ResNet.ResNetTestUtil;

namespace ZipIt.Tests.ResNet;

public class ResNetGraphTests
{
    private static string[] Tensors(IEnumerable<TensorAxis> axes) => axes.Select(a => $"{a.Tensor}@{a.Axis}").ToArray();

    [Fact]
    public void ResNet20HasTheReferenceTwelvePointsInOrder()
    {
        var graph = Architecture.Describe(Config("resnet20"));
        string[] expected =
        [
            "layer1.0.inner", "layer1.1.inner", "layer1.2.inner", "layer1",
            "layer2.0.inner", "layer2.1.inner", "layer2.2.inner", "layer2",
            "layer3.0.inner", "layer3.1.inner", "layer3.2.inner", "layer3",
        ];
        Assert.Equal(expected, graph.Spaces.Select(s => s.Name));
        Assert.Equal(20, graph.LayerCount);
        Assert.Equal(
            [("stem", null, null), ("layer1", "layer1", 7), ("layer2", "layer2", 13), ("layer3", "layer3", 19), ("head", null, null)],
            graph.Stages.Select(s => (s.Name, s.OutputSpace, s.StopLabel)));
        Assert.All(graph.Spaces, s => Assert.Null(s.Groups));
        Assert.Equal([false, false, false, true], graph.Spaces.Take(4).Select(s => s.IsResidualStream));
    }

    [Fact]
    public void ResNet20PointsFollowTheZipItTable()
    {
        var graph = Architecture.Describe(Config("resnet20", ("width", "4")));

        var inner = graph.Space("layer2.1.inner");
        Assert.Equal(128, inner.Width);
        Assert.Equal(["layer2.1.conv1.weight@0"], Tensors(inner.Producers));
        Assert.Equal(["layer2.1.bn1.weight@0", "layer2.1.bn1.bias@0", "layer2.1.bn1.running_mean@0", "layer2.1.bn1.running_var@0"], Tensors(inner.Norms));
        Assert.Equal(["layer2.1.conv2.weight@1"], Tensors(inner.Consumers));
        Assert.Equal([new FeatureTap("layer2.1.conv2", TapSite.Input)], inner.Taps);

        var s1 = graph.Space("layer1");
        Assert.Equal(64, s1.Width);
        Assert.Equal(["conv1.weight@0", "layer1.0.conv2.weight@0", "layer1.1.conv2.weight@0", "layer1.2.conv2.weight@0"], Tensors(s1.Producers));
        Assert.Equal(["bn1", "layer1.0.bn2", "layer1.1.bn2", "layer1.2.bn2"], s1.Norms.Where(a => a.Kind == TensorKind.NormWeight).Select(a => a.Tensor[..^".weight".Length]));
        Assert.Equal(16, s1.Norms.Count);
        Assert.Equal(["layer1.0.conv1.weight@1", "layer1.1.conv1.weight@1", "layer1.2.conv1.weight@1", "layer2.0.conv1.weight@1", "layer2.0.shortcut.0.weight@1"], Tensors(s1.Consumers));
        Assert.Equal([new FeatureTap("layer2.0", TapSite.Input)], s1.Taps);

        var s2 = graph.Space("layer2");
        Assert.Equal(["layer2.0.conv2.weight@0", "layer2.0.shortcut.0.weight@0", "layer2.1.conv2.weight@0", "layer2.2.conv2.weight@0"], Tensors(s2.Producers));
        Assert.Equal(["layer2.0.bn2", "layer2.0.shortcut.1", "layer2.1.bn2", "layer2.2.bn2"], s2.Norms.Where(a => a.Kind == TensorKind.NormWeight).Select(a => a.Tensor[..^".weight".Length]));
        Assert.Equal(["layer2.1.conv1.weight@1", "layer2.2.conv1.weight@1", "layer3.0.conv1.weight@1", "layer3.0.shortcut.0.weight@1"], Tensors(s2.Consumers));
        Assert.Equal([new FeatureTap("layer3.0", TapSite.Input)], s2.Taps);

        var s3 = graph.Space("layer3");
        Assert.Equal(256, s3.Width);
        Assert.Equal(["layer3.1.conv1.weight@1", "layer3.2.conv1.weight@1", "linear.weight@1"], Tensors(s3.Consumers));
        Assert.Equal([new FeatureTap("avgpool", TapSite.Input)], s3.Taps);
        Assert.True(s3.IsResidualStream);
    }

    [Fact]
    public void ResNet50HasThirtySevenPointsAndThePaperLabels()
    {
        var graph = Architecture.Describe(Config("resnet50"));
        Assert.Equal(37, graph.Spaces.Count);
        Assert.Equal(["stem", "layer1.0.inner1", "layer1.0.inner2", "layer1.1.inner1"], graph.Spaces.Take(4).Select(s => s.Name));
        Assert.Equal(["layer4.2.inner1", "layer4.2.inner2", "layer4"], graph.Spaces.TakeLast(3).Select(s => s.Name));
        Assert.Equal(50, graph.LayerCount);
        Assert.Equal(
            [("stem", "stem", 1), ("layer1", "layer1", 10), ("layer2", "layer2", 22), ("layer3", "layer3", 37), ("layer4", "layer4", 49), ("head", null, null)],
            graph.Stages.Select(s => (s.Name, s.OutputSpace, s.StopLabel)));
        Assert.Equal(["conv1", "bn1", "maxpool"], graph.Stages[0].Modules);

        var stem = graph.Space("stem");
        Assert.True(stem.IsResidualStream);
        Assert.Equal(64, stem.Width);
        Assert.Equal(["conv1.weight@0"], Tensors(stem.Producers));
        Assert.Equal(["layer1.0.conv1.weight@1", "layer1.0.downsample.0.weight@1"], Tensors(stem.Consumers));
        Assert.Equal([new FeatureTap("layer1.0", TapSite.Input)], stem.Taps);

        var s1 = graph.Space("layer1");
        Assert.Equal(256, s1.Width);
        Assert.Equal(["layer1.0.conv3.weight@0", "layer1.0.downsample.0.weight@0", "layer1.1.conv3.weight@0", "layer1.2.conv3.weight@0"], Tensors(s1.Producers));
        Assert.Equal(["layer1.1.conv1.weight@1", "layer1.2.conv1.weight@1", "layer2.0.conv1.weight@1", "layer2.0.downsample.0.weight@1"], Tensors(s1.Consumers));

        var inner2 = graph.Space("layer3.4.inner2");
        Assert.Equal(256, inner2.Width);
        Assert.Equal(["layer3.4.conv2.weight@0"], Tensors(inner2.Producers));
        Assert.Equal(["layer3.4.conv3.weight@1"], Tensors(inner2.Consumers));
        Assert.Equal([new FeatureTap("layer3.4.conv3", TapSite.Input)], inner2.Taps);

        Assert.Equal(["layer4.1.conv1.weight@1", "layer4.2.conv1.weight@1", "fc.weight@1"], Tensors(graph.Space("layer4").Consumers));
    }

    [Theory]
    [InlineData("resnet18", 12, new[] { 5, 9, 13, 17 }, 18, true)]
    [InlineData("resnet34", 20, new[] { 7, 15, 27, 33 }, 34, true)]
    [InlineData("resnet101", 71, new[] { 10, 22, 91, 100 }, 101, false)]
    [InlineData("resnet152", 105, new[] { 10, 34, 142, 151 }, 152, false)]
    [InlineData("resnet56", 30, new[] { 19, 37, 55 }, 56, true)]
    public void OtherDepthsUsePlainLayerCounts(string variant, int spaces, int[] labels, int layers, bool stemInLayer1)
    {
        var graph = Architecture.Describe(Config(variant));
        Assert.Equal(spaces, graph.Spaces.Count);
        Assert.Equal(layers, graph.LayerCount);
        Assert.Equal(labels, graph.Stages.Skip(1).SkipLast(1).Select(s => s.StopLabel!.Value));
        // Basic-block nets have no stem point: layer1.0 has an identity shortcut, so the stem writes
        // into the layer1 stream; bottleneck nets project in layer1.0, so the stem is its own point.
        Assert.Equal(stemInLayer1, graph.Space("layer1").Producers.Any(a => a.Tensor == "conv1.weight"));
        Assert.Equal(stemInLayer1 ? null : "stem", graph.Stages[0].OutputSpace);
    }

    [Fact]
    public void GroupNormSpacesAreAllGrouped()
    {
        var gn = Architecture.Describe(Config("resnet20", ("norm", "gn")));
        Assert.Equal(12, gn.Spaces.Count);
        Assert.All(gn.Spaces, s => Assert.Equal(new GroupStructure(8), s.Groups));
        var s1 = gn.Space("layer1");
        Assert.Equal(["bn1.weight", "bn1.bias", "layer1.0.bn2.weight", "layer1.0.bn2.bias"], s1.Norms.Take(4).Select(a => a.Tensor));
        Assert.DoesNotContain(gn.Spaces.SelectMany(s => s.Norms), a => a.Kind is TensorKind.RunningMean or TensorKind.RunningVar);

        var gn50 = Architecture.Describe(Config("resnet50", ("norm", "gn"), ("groups", "32")));
        Assert.All(gn50.Spaces, s => Assert.Equal(new GroupStructure(32), s.Groups));
    }

    public static TheoryData<string, string> AllVariants()
    {
        var data = new TheoryData<string, string>();
        foreach (var v in Architecture.Variants)
            foreach (var norm in new[] { "bn", "gn" })
                data.Add(v.Name, norm);
        return data;
    }

    [Theory]
    [MemberData(nameof(AllVariants))]
    public void DescriptionValidatesAgainstTheModel(string variant, string norm)
    {
        // The conformance package's check: structure, coverage of every tensor axis, stage count.
        PluginConformance.Validate(Architecture, Config(variant, ("norm", norm)));
    }

    [Theory]
    [InlineData("resnet-cifar", "1,2,1", "bn")]
    [InlineData("resnet-basic", "1,1,2,1", "gn")]
    [InlineData("resnet-bottleneck", "1,1,1,1", "gn")]
    public void NonStandardDepthsValidate(string variant, string blocks, string norm)
    {
        var config = Config(variant, ("blocks", blocks), ("norm", norm));
        using var model = Architecture.Create(config);
        var graph = Architecture.Describe(config);
        Assert.Empty(graph.Validate(ModelSignature.Tensors(model)));
        Assert.Equal(config.Get("blocks", "").Split(',').Sum(int.Parse) * (variant == "resnet-bottleneck" ? 3 : 2) + 2, graph.LayerCount);
    }

    [Fact]
    public void AWrongDescriptionIsReported()
    {
        var config = Config("resnet20");
        using var model = Architecture.Create(config);
        var graph = Architecture.Describe(config);
        var broken = graph with { Spaces = graph.Spaces.Select(s => s.Name == "layer2" ? s with { Width = 16 } : s).ToArray() };
        Assert.NotEmpty(broken.Validate(ModelSignature.Tensors(model)));
    }

    [Fact]
    public void AForgottenConsumerIsNamedByTensorAndAxis()
    {
        var config = Config("resnet20");
        using var model = Architecture.Create(config);
        var graph = ResNetSymmetryTests.DropConsumer(Architecture.Describe(config), "layer1", 4);
        Assert.Equal("layer2.0.shortcut.0.weight", Architecture.Describe(config).Space("layer1").Consumers[4].Tensor);
        var problem = Assert.Single(graph.Validate(ModelSignature.Tensors(model)));
        Assert.Equal("tensor 'layer2.0.shortcut.0.weight' axis 1 is in no feature space and not declared a model input", problem);
    }

    [Fact]
    public void AForgottenLayerIsCaught()
    {
        var config = Config("resnet20");
        using var model = Architecture.Create(config);
        var graph = Architecture.Describe(config);
        // layer2.1's inner point gone: conv1 and bn1 are in no space, conv2's input columns in none.
        var broken = graph with { Spaces = graph.Spaces.Where(s => s.Name != "layer2.1.inner").ToArray() };
        var problems = broken.Validate(ModelSignature.Tensors(model));
        Assert.Contains("tensor 'layer2.1.conv1.weight' axis 0 is in no feature space and not declared a model output", problems);
        Assert.Contains("tensor 'layer2.1.bn1.running_var' is described by no feature space, model input or model output", problems);
        Assert.Contains("tensor 'layer2.1.conv2.weight' axis 1 is in no feature space and not declared a model input", problems);
        Assert.DoesNotContain(problems, p => p.Contains("num_batches_tracked"));
        Assert.Equal(6, problems.Count);
    }

    [Fact]
    public void UndeclaredInputsAndOutputsAreCaught()
    {
        var config = Config("resnet20");
        using var model = Architecture.Create(config);
        var graph = Architecture.Describe(config) with { Inputs = [], Outputs = [] };
        Assert.Equal(
        [
            "tensor 'conv1.weight' axis 1 is in no feature space and not declared a model input",
            "tensor 'linear.bias' is described by no feature space, model input or model output",
            "tensor 'linear.weight' axis 0 is in no feature space and not declared a model output",
        ], graph.Validate(ModelSignature.Tensors(model)));
    }

    [Fact]
    public void APartlyCoveredSliceAndADoubleClaimAreCaught()
    {
        var config = Config("resnet20");
        using var model = Architecture.Create(config);
        var graph = Architecture.Describe(config);
        var partial = graph with { Outputs = [new TensorAxis("linear.weight", 0) { Length = 6 }, new TensorAxis("linear.bias", 0, TensorKind.Bias)] };
        Assert.Equal(["tensor 'linear.weight' axis 0 units [6, 10) is in no feature space and not declared a model output"],
            partial.Validate(ModelSignature.Tensors(model)));
        var twice = graph with { Inputs = [.. graph.Inputs, new TensorAxis("layer1.0.conv1.weight", 1)] };
        Assert.Equal(["tensor 'layer1.0.conv1.weight' axis 1 is claimed by both feature space 'layer1' and the model inputs"],
            twice.Validate(ModelSignature.Tensors(model)));
    }
}
