using ZipIt.Tests.Infrastructure;
using System.Text.Json;
using Snapshooter.Xunit;
using TorchSharp;
using ZipIt.Matching;
using ZipIt.Checkpoints;
using ZipIt.Tests.Cli;
using ZipIt.Tests.ResNet;
using ZipIt.Zip;
using static TorchSharp.torch;
using ZipIt.Core;

namespace ZipIt.Tests.Engine;

[Trait("Category", Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class EvaluateCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _model = Repository.Fixture("parity", "resnet20x2_cifar.safetensors");
    private readonly string _data;

    public EvaluateCommandTests() => _data = CollectTests.WriteImages(_dir, 20);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void The_report_has_not_changed()
    {
        var report = _dir.File("report.json");
        var markdown = _dir.File("report.md");
        var result = Tool.Run("evaluate", _model, _model, "--data", _data, "--task", "a=0-4", "--task", "b=5-9", "--ensemble", "-o", report, "--markdown", markdown);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(File.ReadAllText(markdown), result.Out);
        var json = JsonDocument.Parse(File.ReadAllText(report)).RootElement;
        Assert.Equal(1, json.GetProperty("version").GetInt32());
        // w = 2: stem 32·27·32² = 884,736; each stage 6 convs of 14,155,776·w² / 6 = 56,623,104;
        // linear 128·10 = 1,280 (multiply-accumulates, fvcore's convention).
        Assert.Equal(884_736L + 3 * 56_623_104L + 1_280L, json.GetProperty("results")[0].GetProperty("flops").GetInt64());
        Assert.Equal(2 * (884_736L + 3 * 56_623_104L + 1_280L), json.GetProperty("results")[2].GetProperty("flops").GetInt64());
        Snapshot.Match(File.ReadAllText(report));
    }

    [Fact]
    public void A_partial_zip_counts_the_trunk_once_and_every_head()
    {
        var config = ResNetTestUtil.Architecture.Recognize(ResNetFixtures.Signature(_model))!;
        var graph = ResNetTestUtil.Architecture.Describe(config);
        var matches = _dir.File("matches.safetensors");
        MatchesFile.Write(matches, 2, graph.Spaces.Select(s => s.Name).ToList(), ZipperTests.IdentityMatches(graph), "average", new Dictionary<string, string>());
        var partial = _dir.File("partial.safetensors");
        Assert.Equal(0, Tool.Run("zip", _model, _model, "--matches", matches, "-o", partial, "--stop", "7").ExitCode);

        var result = Tool.Run("evaluate", partial, "--data", _data, "--task", "a=0-4", "--task", "b=5-9", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        var row = JsonDocument.Parse(result.Out).RootElement.GetProperty("results")[0];
        Assert.Equal(2, row.GetProperty("heads").GetInt32());
        // FLOPs = full model + (N − 1) × the layers after the stop (stages 2, 3 and the linear layer).
        Assert.Equal(884_736L + 3 * 56_623_104L + 1_280L + 2 * 56_623_104L + 1_280L, row.GetProperty("flops").GetInt64());

        var oneTask = Tool.Run("evaluate", partial, "--data", _data, "--task", "a=0-9");
        Assert.Equal(3, oneTask.ExitCode);
        ExitCodeTests.AssertOneErrorLine(oneTask, "2 heads but 1 tasks");
    }

    [Fact]
    public void Data_without_labels_exits_3_and_clip_without_embeddings_exits_2()
    {
        var unlabeled = _dir.File("unlabeled.safetensors");
        CheckpointWriter.WriteFile(unlabeled, [new("images", randn(2, 3, 32, 32))]);
        var result = Tool.Run("evaluate", _model, "--data", unlabeled, "--task", "a=0-4");
        Assert.Equal(3, result.ExitCode);
        ExitCodeTests.AssertOneErrorLine(result, "no tensor 'labels'");

        result = Tool.Run("evaluate", _model, "--data", _data, "--task", "a=0-4", "--head", "clip");
        Assert.Equal(2, result.ExitCode);
        ExitCodeTests.AssertOneErrorLine(result, "--class-embeddings");
    }
}
