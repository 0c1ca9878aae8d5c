using ZipIt.Tests.Infrastructure;
using TorchSharp;
using ZipIt.Matching;
using ZipIt.Engine.Matching;
using ZipIt.Engine.Checkpoints;
using ZipIt.Tests.Cli;
using ZipIt.Tests.ResNet;
using ZipIt.Engine.Zip;
using static TorchSharp.torch;
using ZipIt.Engine.Core;

namespace ZipIt.Tests.Engine;

/// <summary>The zip and reset-bn commands on the CIFAR fixture and a function-preserving permuted copy of it.</summary>
[Trait("Category", Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class ZipCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _a = Repository.Fixture("parity", "resnet20x2_cifar.safetensors");
    private readonly string _io = Repository.Fixture("parity", "resnet20x2_cifar.io.safetensors");
    private readonly string _b;
    private readonly string _matches;
    private readonly MergeGraph _graph;

    public ZipCommandTests()
    {
        using var file = Checkpoint.Open(_a);
        var state = file.ReadAll();
        var config = ResNetTestUtil.Architecture.Recognize(ResNetFixtures.Signature(_a))!;
        _graph = ResNetTestUtil.Architecture.Describe(config);
        _b = _dir.File("b.safetensors");
        CheckpointWriter.WriteFile(_b, GraphPermutation.Apply(state, _graph, seed: 17));
        _matches = _dir.File("matches.safetensors");
        MatchesFile.Write(_matches, 2, _graph.Spaces.Select(s => s.Name).ToList(), ZipperTests.TrueMatches(_graph, seed: 17), "true-permutation", new Dictionary<string, string>());
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_full_zip_with_the_true_matches_computes_the_original_function_and_loads_as_a_plain_model()
    {
        var merged = _dir.File("merged.safetensors");
        var zip = Tool.Run("zip", _a, _b, "--matches", _matches, "-o", merged);
        Assert.True(zip.ExitCode == 0, zip.ToString());
        using (var file = Checkpoint.Open(merged))
        {
            Assert.DoesNotContain(file.Entries, e => e.Name.StartsWith("heads.", StringComparison.Ordinal));
            Assert.Equal("20/20", file.Metadata["zipit.stop_label"]);
        }
        var predict = Tool.Run("predict", merged, "-i", _io, "-o", _dir.File("out.safetensors"), "--compare", _io, "--json");
        Assert.True(predict.ExitCode == 0, predict.ToString());
        Assert.InRange(System.Text.Json.JsonDocument.Parse(predict.Out).RootElement.GetProperty("maxAbsDifference").GetDouble(), 0, 1e-4);
    }

    [Fact]
    public void A_partial_zip_writes_one_head_per_model_and_every_head_computes_the_original_function()
    {
        var merged = _dir.File("partial.safetensors");
        var zip = Tool.Run("zip", _a, _b, "--matches", _matches, "-o", merged, "--stop", "13");
        Assert.True(zip.ExitCode == 0, zip.ToString());
        using (var file = Checkpoint.Open(merged))
        {
            Assert.Equal("2", file.Metadata["zipit.heads"]);
            Assert.Equal("layer2", file.Metadata["zipit.stop"]);
            Assert.Contains(file.Entries, e => e.Name == "heads.1.layer3.0.conv1.weight");
            Assert.Contains(file.Entries, e => e.Name == "layer2.0.conv1.weight");
            Assert.DoesNotContain(file.Entries, e => e.Name == "layer3.0.conv1.weight");
        }
        var inspect = Tool.Run("inspect", merged);
        Assert.Contains("keys:         match the architecture", inspect.Out);

        var output = _dir.File("out.safetensors");
        var predict = Tool.Run("predict", merged, "-i", _io, "-o", output);
        Assert.True(predict.ExitCode == 0, predict.ToString());
        using var expected = Checkpoint.Open(_io);
        using var actual = Checkpoint.Open(output);
        var want = expected.Read("output");
        foreach (var head in new[] { "output.0", "output.1" })
            Assert.True((actual.Read(head) - want).abs().max().item<float>() < 1e-4, head);
    }

    [Fact]
    public void Reset_bn_recomputes_statistics_of_trunk_and_heads_and_keeps_the_layout()
    {
        var merged = _dir.File("partial.safetensors");
        Assert.Equal(0, Tool.Run("zip", _a, _b, "--matches", _matches, "-o", merged, "--stop", "7").ExitCode);
        var data = CollectTests.WriteImages(_dir, 10);
        var reset = _dir.File("reset.safetensors");
        var result = Tool.Run("reset-bn", merged, "--data", data, "-o", reset, "--batch-size", "4");
        Assert.True(result.ExitCode == 0, result.ToString());
        using var before = Checkpoint.Open(merged);
        using var after = Checkpoint.Open(reset);
        Assert.Equal(before.Entries.Select(e => e.Name).Order(), after.Entries.Select(e => e.Name).Order());
        foreach (var key in new[] { "bn1.running_mean", "heads.0.layer3.2.bn2.running_var", "heads.1.layer2.0.bn1.running_mean" })
            Assert.False(before.Read(key).allclose(after.Read(key)), key);
        Assert.True(before.Read("layer1.0.conv1.weight").Equals(after.Read("layer1.0.conv1.weight")));
    }

    [Fact]
    public void A_stop_that_is_not_a_stage_boundary_exits_2()
    {
        var result = Tool.Run("zip", _a, _b, "--matches", _matches, "-o", _dir.File("m.safetensors"), "--stop", "9");
        Assert.Equal(2, result.ExitCode);
        ExitCodeTests.AssertOneErrorLine(result, "--stop 9: not a stop point of resnet20 (stop points: 7 (layer1), 13 (layer2), 19 (layer3), 20 (full zip))");
        Assert.False(File.Exists(_dir.File("m.safetensors")));
    }

    [Fact]
    public void Matches_missing_a_point_or_with_wrong_shapes_exit_3_and_write_nothing()
    {
        var matches = ZipperTests.TrueMatches(_graph, seed: 17);
        var missing = _dir.File("missing.safetensors");
        MatchesFile.Write(missing, 2, _graph.Spaces.Skip(1).Select(s => s.Name).ToList(), matches, "x", new Dictionary<string, string>());
        var result = Tool.Run("zip", _a, _b, "--matches", missing, "-o", _dir.File("m.safetensors"));
        Assert.Equal(3, result.ExitCode);
        ExitCodeTests.AssertOneErrorLine(result, "'layer1.0.inner.merge'");

        var wrong = _dir.File("wrong.safetensors");
        matches["layer2"] = new MatchResult(zeros(64, 64), zeros(128, 64));
        MatchesFile.Write(wrong, 2, _graph.Spaces.Select(s => s.Name).ToList(), matches, "x", new Dictionary<string, string>());
        result = Tool.Run("zip", _a, _b, "--matches", wrong, "-o", _dir.File("m.safetensors"));
        Assert.Equal(3, result.ExitCode);
        ExitCodeTests.AssertOneErrorLine(result, "'layer2.merge' has shape [64,64], expected [64,128]");
        Assert.False(File.Exists(_dir.File("m.safetensors")));
    }

    [Fact]
    public void NaN_weights_exit_3_naming_the_tensor()
    {
        using var file = Checkpoint.Open(_b);
        var state = file.ReadAll();
        state["layer2.1.conv2.weight"][0, 0, 0, 0] = float.NaN;
        var bad = _dir.File("nan.safetensors");
        CheckpointWriter.WriteFile(bad, state);
        var result = Tool.Run("zip", _a, bad, "--matches", _matches, "-o", _dir.File("m.safetensors"));
        Assert.Equal(3, result.ExitCode);
        ExitCodeTests.AssertOneErrorLine(result, "'layer2.1.conv2.weight' contains NaN");
        Assert.False(File.Exists(_dir.File("m.safetensors")));
    }
}
