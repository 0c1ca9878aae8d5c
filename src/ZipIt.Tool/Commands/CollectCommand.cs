using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using ZipIt.Engine.Collect;
using ZipIt.Engine.Data;
using ZipIt.Engine.Models;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Core;
using ZipIt.Hosting;
using ZipIt.Engine.Output;
using ZipIt.Engine.Merge;

namespace ZipIt.Commands;

/// <summary>
/// <c>collect MODEL MODEL... --data FILE -o METRICS</c>: runs the models over calibration images and
/// writes, per merge point, the covariance and mean of their stacked features (ZipIt! §2).
/// </summary>
internal static class CollectCommand
{
    public static Command Create(CommandRunner runner)
    {
        var models = new Argument<string[]>("models") { Description = "Two or more checkpoints of one architecture and width.", Arity = new ArgumentArity(2, 64) };
        var data = DataOptions.Data("Calibration images");
        var preprocess = DataOptions.Preprocess();
        var images = DataOptions.Images();
        var batchSize = DataOptions.BatchSize();
        var resetBn = new Option<bool>("--reset-bn")
        {
            Description = "First recompute each model's BatchNorm statistics on the same data, as the paper does (--reset-bn false to skip). [default: true]",
            DefaultValueFactory = _ => true,
        };
        var output = new Option<string>("--output", "-o") { Description = "Metrics file to write (.safetensors).", Required = true, HelpName = "FILE" };
        var arch = CommonOptions.Arch();
        var tapSets = CommonOptions.TapSets();
        var json = CommonOptions.Json();
        var maxMemory = CommonOptions.MaxMemory();
        var command = new Command("collect", "Collect per-merge-point feature covariances of two or more models over calibration data.")
        {
            models, data, images, preprocess, batchSize, resetBn, tapSets, output, arch, maxMemory, json, CommonOptions.Device(),
        };
        command.SetAction((parse, ct) => Task.FromResult(runner.Run(parse, ct, ctx => Execute(ctx,
            ctx.Value(models)!, ctx.Value(data)!, ctx.Value(images), ctx.Value(batchSize), ctx.Value(resetBn), ctx.Value(output)!, ctx.Value(arch), ctx.Value(json), ctx.Value(tapSets) ?? [], ctx.Value(maxMemory), ctx.Value(preprocess)))));
        return command.WithExamples(
            "dotnet zipit collect a.safetensors b.safetensors --data images/ --images 500 -o metrics.safetensors",
            "dotnet zipit collect a.pth b.pth --data fashion-mnist:train --preprocess cifar10 -o metrics.safetensors");
    }

    private static int Execute(CommandContext ctx, string[] paths, string dataPath, long? images, int batchSize, bool resetBn, string output, string? arch, bool json, string[] tapSets, string? maxMemoryText, string[]? preprocess)
    {
        DataOptions.Validate(images, batchSize);
        var maxMemory = CommonOptions.MaxMemoryBytes(maxMemoryText);
        OutputGuard.RequireDistinct([.. paths.Select(m => new OutputGuard.Named("MODEL", m)), new("--data", dataPath)], [new("--output", output)]);
        OutputGuard.RequireWritable("--output", output);
        var clock = Stopwatch.StartNew();
        using var session = MergeSession.Open(ctx.Engine(maxMemory), new SessionInputs(paths) { Arch = arch, Data = dataPath, Images = images, Preprocess = preprocess });
        var graph = session.Graph;
        var dataset = session.Calibration!;
        session.RequireTapSets(tapSets);
        session.RequireMemory($"collect of {session.Models.Count} × {session.Config} over {dataset.Count} images", graph.Spaces, batchSize, tapSets, collectOnly: true);
        // Before the BatchNorm reset changes the models: the identity is that of the files given.
        var fingerprints = session.Fingerprints;
        if (resetBn) session.ResetBn(batchSize);
        var statistics = session.Statistics(graph.Spaces, batchSize, tapSets);
        var metadata = ArchitectureMetadata.For(session.Config);
        metadata[MetadataKeys.Sources] = JsonSerializer.Serialize(session.Models.Select(m => m.Name));
        metadata[MetadataKeys.SourceFingerprints] = SourceFingerprints.Serialize(fingerprints);
        MetricsFile.Write(output, graph.Spaces, statistics, metadata);
        ctx.Logger.LogInformation("{Points} merge points of {Models} models over {Images} images → {Output} in {Seconds:0.00} s",
            graph.Spaces.Count, session.Models.Count, dataset.Count, output, clock.Elapsed.TotalSeconds);
        if (json)
            Json.Write(ctx.Out, new { output, models = session.Models.Count, points = graph.Spaces.Count, images = dataset.Count, seconds = clock.Elapsed.TotalSeconds });
        return 0;
    }
}
