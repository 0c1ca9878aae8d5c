using System.CommandLine;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Core;
using ZipIt.Engine.Data;
using ZipIt.Engine.Evaluate;
using ZipIt.Engine.Merge;
using ZipIt.Engine.Output;
using ZipIt.Hosting;

namespace ZipIt.Commands;

/// <summary>
/// <c>data export SOURCE -o FILE</c>: the model inputs a data source gives (what merge, collect,
/// reset-bn and evaluate read), as a tensor file to reuse or inspect; <c>data embeddings MODEL -o
/// FILE</c>: the class embeddings a clip-head model was trained against.
/// </summary>
internal static class DataCommand
{
    public static Command Create(CommandRunner runner) => new Command("data", "Export the images a data source gives, or a clip-head model's class embeddings, as tensor files.")
    {
        Export(runner),
        Embeddings(runner),
    }.WithExamples("dotnet zipit data export fashion-mnist:train:0-4 --images 500 -o calibration.safetensors",
        "dotnet zipit data embeddings a.safetensors b.safetensors -o embeddings.safetensors");

    private static Command Export(CommandRunner runner)
    {
        var source = new Argument<string>("source") { Description = $"What to export: {DataOptions.SourceHelp}; a dataset spec naming no split reads its train split." };
        var output = new Option<string>("--output", "-o") { Description = "The .safetensors file to write: tensor 'images' [N, C, H, W] (float32 model inputs) and 'labels' [N] where the source has classes.", Required = true, HelpName = "FILE" };
        var model = new Option<string?>("--for") { Description = "Preprocess as this checkpoint records (its zipit.preprocess, timm config.json or training task).", HelpName = "MODEL" };
        var preprocess = DataOptions.Preprocess();
        var images = DataOptions.Images();
        var arch = CommonOptions.Arch();
        var json = CommonOptions.Json();
        var command = new Command("export", "Write the model inputs of a dataset spec, image folder or tensor file to a .safetensors file.")
        {
            source, output, model, preprocess, images, arch, json,
        };
        command.SetAction((parse, ct) => Task.FromResult(runner.Run(parse, ct, ctx =>
        {
            var text = ctx.Value(source)!;
            var path = ctx.Value(output)!;
            var n = ctx.Value(images);
            if (n is < 1) throw ZipItException.Usage($"--images must be at least 1, got {n}");
            var forModel = ctx.Value(model);
            OutputGuard.RequireDistinct([new("SOURCE", DataSource.Parse(text, "SOURCE").LocalPath), new("--for", forModel)], [new("--output", path)]);
            OutputGuard.RequireWritable("--output", path);
            using var session = MergeSession.Open(ctx.Engine(), new SessionInputs(forModel is null ? [] : [forModel])
            {
                Arch = ctx.Value(arch), Merging = false, Preprocess = ctx.Value(preprocess),
            });
            using var data = session.LoadData(text, "SOURCE", DataSplit.Train, labelsRequired: false, n);
            var metadata = new Dictionary<string, string> { [MetadataKeys.Source] = text };
            if (session.Preprocessing is { } p && DataSource.Parse(text, "SOURCE").NeedsPreprocessing) metadata[MetadataKeys.Preprocess] = p.ToJson();
            var tensors = new List<KeyValuePair<string, TorchSharp.torch.Tensor>> { new(TensorDataset.ImagesTensor, data.Images) };
            if (data.Labels is { } labels) tensors.Add(new(TensorDataset.LabelsTensor, labels));
            CheckpointWriter.WriteFile(path, tensors, metadata);
            ctx.Logger.LogInformation("{Source}: {Count} images {Shape} → {Output}", text, data.Count, Format.Shape(data.Images.shape), path);
            if (ctx.Value(json)) Json.Write(ctx.Out, new { output = path, images = data.Count, shape = data.Images.shape, labelled = data.Labels is not null });
            return 0;
        })));
        return command.WithExamples(
            "dotnet zipit data export fashion-mnist:train:0-4 --images 500 --for a.safetensors -o calibration.safetensors",
            "dotnet zipit data export my-images/ --preprocess imagenet -o calibration.safetensors");
    }

    private static Command Embeddings(CommandRunner runner)
    {
        var models = new Argument<string[]>("models") { Description = "Clip-head checkpoints (their class names together give the rows).", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--output", "-o") { Description = "The .safetensors file to write: tensor 'embeddings' [K, D], row c for class c (what evaluate --class-embeddings reads).", Required = true, HelpName = "FILE" };
        var arch = CommonOptions.Arch();
        var json = CommonOptions.Json();
        var command = new Command("embeddings", "Write the class embeddings clip-head models were trained against (class-name-hash:D, regenerated from the class names they record).")
        {
            models, output, arch, json,
        };
        command.SetAction((parse, ct) => Task.FromResult(runner.Run(parse, ct, ctx =>
        {
            var paths = ctx.Value(models)!;
            var path = ctx.Value(output)!;
            OutputGuard.RequireDistinct([.. paths.Select(m => new OutputGuard.Named("MODEL", m))], [new("--output", path)]);
            OutputGuard.RequireWritable("--output", path);
            using var session = MergeSession.Open(ctx.Engine(), new SessionInputs(paths) { Arch = ctx.Value(arch), Merging = false });
            var names = ModelHeads.ClassNames(session.Models);
            if (names.Count == 0) throw ZipItException.Input($"{string.Join(", ", paths.Select(Path.GetFileName))}: no model records its classes ({MetadataKeys.Classes}, {MetadataKeys.ClassNames})");
            var tasks = new[] { new EvaluationTask("all", [.. names.Keys]) };
            var reading = ModelHeads.Resolve(session.Models, HeadKind.Clip, null, tasks);
            using var embeddings = reading.Embeddings!;
            var metadata = new Dictionary<string, string>
            {
                [MetadataKeys.Embedding] = reading.EmbeddingsFrom!,
                [MetadataKeys.Classes] = JsonSerializer.Serialize(names.Keys),
                [MetadataKeys.ClassNames] = JsonSerializer.Serialize(names.Values),
                [MetadataKeys.Source] = JsonSerializer.Serialize(paths.Select(Path.GetFileName)),
            };
            CheckpointWriter.WriteFile(path, [new(ClassEmbeddingsFile.Tensor, embeddings)], metadata);
            var gaps = names.Keys.Max() + 1 - names.Count;
            if (gaps > 0) ctx.Logger.LogWarning("{Gaps} class ids below {Max} have no name in the models; their rows are vectors of no class", gaps, names.Keys.Max());
            ctx.Logger.LogInformation("{Rows} class embeddings of {Dimension} dimensions ({Spec}) → {Output}", embeddings.shape[0], embeddings.shape[1], reading.EmbeddingsFrom, path);
            if (ctx.Value(json)) Json.Write(ctx.Out, new { output = path, classes = embeddings.shape[0], dimension = embeddings.shape[1], spec = reading.EmbeddingsFrom });
            return 0;
        })));
        return command.WithExamples(
            "dotnet zipit data embeddings a.safetensors b.safetensors -o embeddings.safetensors");
    }
}
