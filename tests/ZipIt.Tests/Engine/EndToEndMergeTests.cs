using ZipIt.Tests.Infrastructure;
using System.Text.Json;
using TorchSharp;
using ZipIt.Engine.Checkpoints;
using ZipIt.Tests.Cli;
using ZipIt.Tests.ResNet;
using static TorchSharp.torch;
using ZipIt.Engine.Core;

namespace ZipIt.Tests.Engine;

/// <summary>
/// Two ResNet-20s trained here, from different seeds, on disjoint halves of ten synthetic classes
/// (each class a fixed random image plus noise), merged through the CLI. ZipIt! must beat weight
/// averaging on joint accuracy, and stopping the zip early (separate heads) must not be worse than
/// zipping everything: the paper's two headline observations.
/// </summary>
[Trait("Category", Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class EndToEndMergeTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int Size = 16;

    [Fact]
    public void Zipit_beats_averaging_and_a_partial_zip_is_at_least_as_good_as_a_full_one()
    {
        using var dir = new TempDirectory();
        var prototypes = randn([10, 3, Size, Size], generator: new Generator(100));
        var (calibImages, _) = Sample(prototypes, 300, seed: 1);
        var (testImages, testLabels) = Sample(prototypes, 600, seed: 2);
        CheckpointWriter.WriteFile(dir.File("calib.safetensors"), [new("images", calibImages)]);
        CheckpointWriter.WriteFile(dir.File("test.safetensors"), [new("images", testImages), new("labels", testLabels)]);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var a = Train(prototypes, classes: [0, 1, 2, 3, 4], seed: 11, dir.File("a.safetensors"));
        var b = Train(prototypes, classes: [5, 6, 7, 8, 9], seed: 22, dir.File("b.safetensors"));
        output.WriteLine($"training {clock.Elapsed.TotalSeconds:0.0} s");
        string[] evaluation = ["--eval-data", dir.File("test.safetensors"), "--task", "a=0-4", "--task", "b=5-9"];

        var baseline = Run(["evaluate", a, b, "--data", dir.File("test.safetensors"), "--task", "a=0-4", "--task", "b=5-9", "--ensemble", "--json"]);
        var results = JsonDocument.Parse(baseline.Out).RootElement.GetProperty("results");
        Assert.True(results[0].GetProperty("tasks").GetProperty("a").GetDouble() > 0.9, "model A did not learn its task");
        Assert.True(results[1].GetProperty("tasks").GetProperty("b").GetDouble() > 0.9, "model B did not learn its task");

        double Joint(params string[] extra)
        {
            var result = Run(["merge", "--models", a, b, "--data", dir.File("calib.safetensors"), "-o", dir.File($"m{Guid.NewGuid():N}.safetensors"), "--json", .. evaluation, .. extra]);
            return JsonDocument.Parse(result.Out).RootElement.GetProperty("evaluation").GetProperty("joint").GetDouble();
        }
        output.WriteLine($"baseline {clock.Elapsed.TotalSeconds:0.0} s");
        var average = Joint("--matcher", "average");
        output.WriteLine($"average {average:P1} {clock.Elapsed.TotalSeconds:0.0} s");
        var zipFull = Joint("--matcher", "zipit");
        var zipPartial = Joint("--matcher", "zipit", "--stop", "13");
        output.WriteLine($"zip {zipFull:P1} partial {zipPartial:P1} {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.True(zipFull > average, $"ZipIt!20/20 joint {zipFull:P1} should beat weight averaging {average:P1}");
        Assert.True(zipPartial >= zipFull, $"ZipIt!13/20 joint {zipPartial:P1} should be at least ZipIt!20/20's {zipFull:P1}");
    }

    private static (Tensor Images, Tensor Labels) Sample(Tensor prototypes, int count, ulong seed, long[]? classes = null)
    {
        var g = new Generator(seed);
        var pool = tensor(classes ?? Enumerable.Range(0, 10).Select(i => (long)i).ToArray());
        var labels = pool.index_select(0, randint(pool.shape[0], [count], generator: g));
        var images = prototypes.index_select(0, labels) + randn([count, 3, Size, Size], generator: g) * 1.5;
        return (images, labels);
    }

    private static string Train(Tensor prototypes, long[] classes, long seed, string path)
    {
        var config = ResNetTestUtil.Architecture.Configure("resnet20");
        manual_seed(seed);
        using var model = ResNetTestUtil.Architecture.Create(config);
        model.train();
        using var optimizer = optim.SGD(model.parameters(), 0.05, momentum: 0.9, weight_decay: 5e-4);
        for (var step = 0; step < 60; step++)
        {
            using var scope = NewDisposeScope();
            var (x, y) = Sample(prototypes, 64, (ulong)(seed * 1000 + step), classes);
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(x), y);
            loss.backward();
            optimizer.step();
        }
        model.eval();
        CheckpointWriter.WriteFile(path, model.state_dict());
        return path;
    }

    private static CliResult Run(string[] args)
    {
        var result = Tool.Run(args);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }
}
