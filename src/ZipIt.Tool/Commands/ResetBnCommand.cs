using System.CommandLine;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ZipIt.Data;
using ZipIt.Models;
using ZipIt.ResetBn;
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
        var data = DataOptions.Data();
        var images = DataOptions.Images();
        var batchSize = DataOptions.BatchSize();
        var output = new Option<string>("--output", "-o") { Description = "Checkpoint to write (.safetensors).", Required = true, HelpName = "FILE" };
        var arch = CommonOptions.Arch();
        var json = CommonOptions.Json();
        var command = new Command("reset-bn", "Recompute a model's BatchNorm statistics (trunk and heads) from calibration data.")
        {
            model, data, images, batchSize, output, arch, json, CommonOptions.Device(),
        };
        command.SetAction((parse, ct) => Task.FromResult(runner.Run(parse, ct, ctx => Execute(ctx,
            ctx.Value(model)!, ctx.Value(data)!, ctx.Value(images), ctx.Value(batchSize), ctx.Value(output)!, ctx.Value(arch), ctx.Value(json)))));
        return command;
    }

    private static int Execute(CommandContext ctx, string path, string dataPath, long? images, int batchSize, string output, string? arch, bool json)
    {
        DataOptions.Validate(images, batchSize);
        var clock = Stopwatch.StartNew();
        using var loaded = ctx.Get<ModelLoader>().Load(path, arch);
        using var dataset = TensorDataset.Load(dataPath, images);
        var layers = loaded.Modules.Sum(m => BatchNormReset.Layers(m).Count);
        if (layers == 0)
        {
            // A ViT or a GroupNorm ResNet: no statistics to recompute, so no forward pass either.
            ModelWriter.Save(loaded, output);
            ctx.Logger.LogWarning("{Model} has no BatchNorm layers: nothing to reset; wrote it unchanged to {Output}", Path.GetFileName(path), output);
            if (json) Output.Json.Write(ctx.Out, new { output, layers, images = 0, batches = 0, seconds = clock.Elapsed.TotalSeconds });
            return 0;
        }
        var batches = BatchNormReset.Run(loaded.Modules, dataset.Batches(batchSize).Select(b => b.Images), x => loaded.Forward(x), ctx.CancellationToken);
        ModelWriter.Save(loaded, output);
        ctx.Logger.LogInformation("reset {Layers} BatchNorm layers over {Images} images ({Batches} batches) → {Output} in {Seconds:0.00} s",
            layers, dataset.Count, batches, output, clock.Elapsed.TotalSeconds);
        if (json)
            Output.Json.Write(ctx.Out, new { output, layers, images = dataset.Count, batches, seconds = clock.Elapsed.TotalSeconds });
        return 0;
    }
}
