using ZipIt.Tests.Infrastructure;
using System.Text.Json;
using Snapshooter.Xunit;
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

    /// <summary>
    /// --reset-bn-data resets every model's BatchNorm statistics before it is evaluated, alone and in
    /// the ensemble: on models whose statistics are off for the images, the figures differ from
    /// those as given and equal reset-bn followed by evaluate.
    /// </summary>
    [Fact]
    public void Reset_bn_data_gives_the_figures_of_reset_bn_then_evaluate()
    {
        var calibration = _dir.File("calibration.safetensors");
        using (var images = torch.randn([48, 3, 32, 32], generator: new Generator(11)).mul_(2).add_(0.5))
            CheckpointWriter.WriteFile(calibration, [new(ZipIt.Engine.Data.TensorDataset.ImagesTensor, images)]);
        var test = _dir.File("test.safetensors");
        using (var images = torch.randn([200, 3, 32, 32], generator: new Generator(12)).mul_(2).add_(0.5))
        using (var labels = torch.arange(200, ScalarType.Int64) % 10)
            CheckpointWriter.WriteFile(test, [new(ZipIt.Engine.Data.TensorDataset.ImagesTensor, images), new(ZipIt.Engine.Data.TensorDataset.LabelsTensor, labels)]);
        // Model B: the fixture with other running statistics, so the two models differ.
        var b = _dir.File("b.safetensors");
        using (var ckpt = Checkpoint.Open(_model))
        {
            var state = ckpt.ReadAll();
            foreach (var (name, t) in state)
                if (name.EndsWith("running_var", StringComparison.Ordinal)) t.mul_(3);
            CheckpointWriter.WriteFile(b, state, ckpt.Metadata);
            foreach (var t in state.Values) t.Dispose();
        }
        string[] Evaluate(params string[] models) => ["evaluate", .. models, "--data", test, "--task", "a=0-4", "--task", "b=5-9", "--ensemble", "--json"];
        JsonElement Results(CliResult r)
        {
            Assert.True(r.ExitCode == 0, r.ToString());
            return JsonDocument.Parse(r.Out).RootElement;
        }

        var given = Results(Tool.Run(Evaluate(_model, b)));
        var reset = Results(Tool.Run([.. Evaluate(_model, b), "--reset-bn-data", calibration]));
        var resetA = _dir.File("a.reset.safetensors");
        var resetB = _dir.File("b.reset.safetensors");
        Assert.Equal(0, Tool.Run("reset-bn", _model, "--data", calibration, "-o", resetA).ExitCode);
        Assert.Equal(0, Tool.Run("reset-bn", b, "--data", calibration, "-o", resetB).ExitCode);
        var separately = Results(Tool.Run(Evaluate(resetA, resetB)));

        string Figures(JsonElement report) => string.Join("; ", report.GetProperty("results").EnumerateArray().Select(r =>
            $"{r.GetProperty("joint").GetDouble():R} {r.GetProperty("avg").GetDouble():R} {string.Join(" ", r.GetProperty("tasks").EnumerateObject().Select(t => t.Value.GetDouble().ToString("R")))}"));
        Assert.Equal(Figures(separately), Figures(reset));
        Assert.NotEqual(Figures(given), Figures(reset));
        Assert.Equal("calibration.safetensors", reset.GetProperty("resetBn").GetProperty("data").GetString());
        Assert.Equal(48, reset.GetProperty("resetBn").GetProperty("images").GetInt64());
        Assert.False(given.TryGetProperty("resetBn", out _));

        // Checked before any forward pass: images with one channel are exit 3 naming the file.
        var small = _dir.File("small.safetensors");
        using (var images = torch.zeros([4, 1, 32, 32])) CheckpointWriter.WriteFile(small, [new(ZipIt.Engine.Data.TensorDataset.ImagesTensor, images)]);
        var bad = Tool.Run([.. Evaluate(_model, b), "--reset-bn-data", small]);
        Assert.True(bad.ExitCode == 3, bad.ToString());
        Assert.Contains("small.safetensors", bad.Error);
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
