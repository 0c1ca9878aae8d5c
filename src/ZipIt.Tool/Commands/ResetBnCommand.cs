using ZipIt.Engine.Checkpoints;
using System.CommandLine;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ZipIt.Engine.Data;
using ZipIt.Engine.Merge;
using ZipIt.Engine.Models;
using ZipIt.Engine.Core;
using ZipIt.Engine.Output;
using ZipIt.Engine.ResetBn;
using ZipIt.Hosting;

namespace ZipIt.Commands;

/// <summary>
/// <c>reset-bn MODEL --data FILE -o OUT</c>: recomputes every BatchNorm's running statistics
/// (trunk and heads) from data, as ZipIt! does after merging (§6).
/// </summary>
internal static class ResetBnCommand
{
    public static Command Create(CommandRunner runner)
    {
        var model = CommonOptions.Checkpoint("The model (a plain or multi-head checkpoint).");
        var data = DataOptions.Data("Calibration images");
        var preprocess = DataOptions.Preprocess();
        var images = DataOptions.Images();
        var batchSize = DataOptions.BatchSize();
        var output = new Option<string?>("--output", "-o") { Description = "Checkpoint to write (.safetensors); never the model itself (see --in-place).", HelpName = "FILE" };
        var inPlace = new Option<bool>("--in-place") { Description = "Update the model's own file (atomically: a temp file, then a rename) instead of writing -o." };
        var arch = CommonOptions.Arch();
        var json = CommonOptions.Json();
        var command = new Command("reset-bn", "Recompute a model's BatchNorm statistics (trunk and heads) from calibration data.")
        {
            model, data, images, preprocess, batchSize, output, inPlace, arch, json, CommonOptions.Device(),
        };
        command.SetAction((parse, ct) => Task.FromResult(runner.Run(parse, ct, ctx => Execute(ctx,
            ctx.Value(model)!, ctx.Value(data)!, ctx.Value(images), ctx.Value(batchSize), ctx.Value(output), ctx.Value(inPlace), ctx.Value(arch), ctx.Value(json), ctx.Value(preprocess)))));
        return command.WithExamples(
            "dotnet zipit reset-bn merged.safetensors --data fashion-mnist:train --images 1000 -o merged-bn.safetensors");
    }

    private static int Execute(CommandContext ctx, string path, string dataPath, long? images, int batchSize, string? output, bool inPlace, string? arch, bool json, string[]? preprocess)
    {
        DataOptions.Validate(images, batchSize);
        output = OutputFor(path, dataPath, output, inPlace);
        var clock = Stopwatch.StartNew();
        using var session = MergeSession.Open(ctx.Engine(), new SessionInputs([path]) { Arch = arch, Merging = false, Data = dataPath, Images = images, Preprocess = preprocess });
        var loaded = session.Models[0];
        var dataset = session.Calibration!;
        var layers = loaded.Modules.Sum(m => BatchNormReset.Layers(m).Count);
        if (layers == 0)
        {
            // GroupNorm/LayerNorm models keep no running statistics: nothing to reset. The model is
            // still written to -o unchanged, so a script's next step finds it.
            ctx.Logger.LogWarning("{Model}: {Config} has no BatchNorm layers; nothing to reset, the model is written unchanged", loaded.Name, loaded.Config);
            if (!inPlace) ModelWriter.Save(loaded, output);
            if (json) Json.Write(ctx.Out, new { output, layers, images = dataset.Count, batches = 0, seconds = clock.Elapsed.TotalSeconds });
            return 0;
        }
        var batches = session.ResetBatchNorm(loaded, dataset, batchSize);
        ModelWriter.Save(loaded, output);
        ctx.Logger.LogInformation("reset {Layers} BatchNorm layers over {Images} images ({Batches} batches) → {Output} in {Seconds:0.00} s",
            layers, dataset.Count, batches, output, clock.Elapsed.TotalSeconds);
        if (json)
            Json.Write(ctx.Out, new { output, layers, images = dataset.Count, batches, seconds = clock.Elapsed.TotalSeconds });
        return 0;
    }

    /// <summary>Where the result goes: <c>-o</c> (never an input) or, with <c>--in-place</c>, the model's own single file.</summary>
    private static string OutputFor(string model, string data, string? output, bool inPlace)
    {
        if (inPlace)
        {
            if (output is not null) throw ZipItException.Usage("give either --output or --in-place, not both");
            if (!File.Exists(model) || !model.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
                throw ZipItException.Usage($"--in-place {model}: updates a single .safetensors file; write a folder or sharded checkpoint with --output");
            OutputGuard.RequireDistinct([new("--data", data)], [new("--in-place", model)]);
            return model;
        }
        if (output is null) throw ZipItException.Usage("give --output FILE, or --in-place to update the model's own file");
        OutputGuard.RequireDistinct([new("MODEL", model), new("--data", data)], [new("--output", output)]);
        OutputGuard.RequireWritable("--output", output);
        return output;
    }
}
