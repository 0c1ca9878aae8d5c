using System.CommandLine;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using TorchSharp;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Data;
using ZipIt.Engine.Merge;
using ZipIt.Engine.Models;
using ZipIt.Engine.Output;
using static TorchSharp.torch;
using ZipIt.Engine.Core;
using ZipIt.Hosting;

namespace ZipIt.Commands;

/// <summary>
/// <c>predict CHECKPOINT --input FILE -o OUT</c>: runs the model (eval mode) on tensor <c>input</c>
/// and writes tensor <c>output</c>, so a user can check a model behaves as it did in PyTorch.
/// </summary>
internal static class PredictCommand
{
    public const string InputTensor = "input";
    public const string OutputTensor = "output";

    public static Command Create(CommandRunner runner)
    {
        var checkpoint = CommonOptions.Checkpoint();
        var input = new Option<string>("--input", "-i")
        {
            Description = "What to run the model on: a tensor file (.safetensors, or a torch.save dict) holding tensor 'input' (or 'images', as 'data export' writes; e.g. [B, 3, H, W] float images), taken as is, "
                + "or a dataset spec NAME[:SPLIT][:CLASSES] or image folder, made into inputs as the model records (a dataset spec naming no split reads its test split); "
                + "the source's 'labels' are written beside the outputs.",
            Required = true,
            HelpName = "SOURCE",
        };
        var images = DataOptions.Images();
        var preprocess = DataOptions.Preprocess();
        var output = new Option<string>("--output", "-o") { Description = "Where to write the .safetensors file holding tensor 'output'.", Required = true, HelpName = "FILE" };
        var batchSize = new Option<int>("--batch-size") { Description = "Inputs per forward pass.", DefaultValueFactory = _ => 256, HelpName = "N" };
        var compare = new Option<string?>("--compare")
        {
            Description = "A .safetensors file holding the expected tensor 'output' (e.g. saved from PyTorch): report the largest absolute difference.",
            HelpName = "FILE",
        };
        var arch = CommonOptions.Arch();
        var json = CommonOptions.Json();
        var command = new Command("predict", "Run a model on a tensor file's 'input', a dataset or an image folder and write tensor 'output' (output.0, output.1, ... for a multi-head model).")
        {
            checkpoint, input, output, compare, images, preprocess, arch, batchSize, json, CommonOptions.Device(),
        };
        command.SetAction((parse, ct) => Task.FromResult(runner.Run(parse, ct, ctx =>
            Execute(ctx, ctx.Value(checkpoint)!, ctx.Value(input)!, ctx.Value(output)!, ctx.Value(compare), ctx.Value(arch), ctx.Value(batchSize), ctx.Value(json),
                ctx.Value(images), ctx.Value(preprocess)))));
        return command.WithExamples(
            "dotnet zipit predict model.safetensors -i input.safetensors -o output.safetensors --compare pytorch-output.safetensors",
            "dotnet zipit predict merged/ -i my-images/ -o predictions.safetensors");
    }

    private static int Execute(CommandContext ctx, string checkpointPath, string inputPath, string outputPath, string? comparePath, string? arch, int batchSize, bool json,
        long? images, string[]? preprocess)
    {
        DataOptions.Validate(images, batchSize);
        var source = DataSource.Parse(inputPath, "--input");
        OutputGuard.RequireDistinct([new("CHECKPOINT", checkpointPath), new("--input", source.LocalPath), new("--compare", comparePath)], [new("--output", outputPath)]);
        OutputGuard.RequireWritable("--output", outputPath);
        var clock = Stopwatch.StartNew();
        using var session = MergeSession.Open(ctx.Engine(), new SessionInputs([checkpointPath]) { Arch = arch, Merging = false, Preprocess = preprocess });
        var loaded = session.Models[0];
        var loadSeconds = clock.Elapsed.TotalSeconds;

        using var scope = torch.NewDisposeScope();
        var (inputs, labels) = source.NeedsPreprocessing ? ReadSource(session, inputPath, images) : (ReadInput(inputPath, images), null);
        var outputs = Run(loaded, inputs, batchSize, inputPath, ctx.CancellationToken);
        var named = outputs.Count == 1
            ? new Dictionary<string, Tensor> { [OutputTensor] = outputs[0] }
            : outputs.Select((o, i) => (o, i)).ToDictionary(x => $"{OutputTensor}.{x.i}", x => x.o);
        var difference = comparePath is null ? (double?)null : MaxDifference(named, comparePath);
        if (labels is not null) named[TensorDataset.LabelsTensor] = labels;
        var outputFile = Path.GetFileName(outputPath);
        CheckpointWriter.WriteFile(outputPath, named, new Dictionary<string, string>
        {
            ["format"] = "pt",
            [MetadataKeys.Source] = loaded.Name,
        });
        var seconds = clock.Elapsed.TotalSeconds;
        ctx.Logger.LogInformation("{Model}: {Count} inputs → {Output} {Names} {Shape} in {Seconds:0.000} s ({Load:0.000} s loading)",
            loaded.Config, inputs.shape[0], outputFile, string.Join(", ", named.Keys), Format.Shape(outputs[0].shape), seconds, loadSeconds);
        if (json)
            Json.Write(ctx.Out, new { output = outputPath, tensors = named.Keys, shape = outputs[0].shape, model = loaded.Config.ToString(), seconds, loadSeconds, compare = comparePath, maxAbsDifference = difference });
        else if (difference is { } d)
            ctx.Out.WriteLine($"max abs difference from {Path.GetFileName(comparePath)}: {d:0.###e+00}");
        else
            ctx.Out.WriteLine($"{outputPath}: {string.Join(", ", named.Select(t => $"{t.Key} {Format.Shape(t.Value.shape)}"))} from {inputs.shape[0]} inputs in {seconds:0.0} s");
        return 0;
    }

    /// <summary>The largest absolute difference over every output tensor, against the same-named tensors of <paramref name="comparePath"/>.</summary>
    private static double MaxDifference(IReadOnlyDictionary<string, Tensor> outputs, string comparePath)
    {
        using var file = Checkpoint.Open(comparePath);
        var name = Path.GetFileName(file.Path);
        var largest = 0.0;
        foreach (var (tensor, actual) in outputs)
        {
            if (!file.Contains(tensor))
                throw ZipItException.Input($"{name} has no tensor '{tensor}' to compare with");
            using var expected = file.Read(tensor);
            if (!expected.shape.SequenceEqual(actual.shape))
                throw ZipItException.Input($"{name}: tensor '{tensor}' has shape {Format.Shape(expected.shape)}, the model's output is {Format.Shape(actual.shape)}");
            // A NaN would make the difference NaN: no number to report, and no JSON number either.
            if (expected.is_floating_point() && !expected.isfinite().all().item<bool>())
                throw ZipItException.Input($"{name}: tensor '{tensor}' holds NaN or infinite values; there is nothing to compare with");
            if (!actual.isfinite().all().item<bool>())
                throw ZipItException.Input($"the model's output '{tensor}' holds NaN or infinite values; it cannot be compared with {name}");
            using var diff = (expected.to(ScalarType.Float64) - actual.to(ScalarType.Float64)).abs().max();
            largest = Math.Max(largest, diff.item<double>());
        }
        return largest;
    }

    /// <summary>Tensor <c>input</c> of a tensor file (or <c>images</c>, what <c>data export</c> writes), its first <paramref name="images"/> rows.</summary>
    private static Tensor ReadInput(string path, long? images)
    {
        using var file = Checkpoint.Open(path);
        var name = Path.GetFileName(file.Path);
        var tensorName = file.Contains(InputTensor) ? InputTensor : file.Contains(TensorDataset.ImagesTensor) ? TensorDataset.ImagesTensor
            : throw ZipItException.Input($"{name} has no tensor '{InputTensor}' or '{TensorDataset.ImagesTensor}' (it has {string.Join(", ", file.Entries.Select(e => $"'{e.Name}'").Take(5))})");
        var tensor = file.Read(tensorName);
        if (!tensor.is_floating_point())
            throw ZipItException.Input($"{name}: tensor '{tensorName}' is {tensor.dtype}; a floating-point tensor is needed");
        if (tensor.dim() < 2 || tensor.shape[0] == 0)
            throw ZipItException.Input($"{name}: tensor '{tensorName}' has shape {Format.Shape(tensor.shape)}; expected a batch [B, ...] with B ≥ 1");
        // NaN in gives NaN out: a wrong answer rather than an error, so it is refused here.
        if (!tensor.isfinite().all().item<bool>())
            throw ZipItException.Input($"{name}: tensor '{tensorName}' holds NaN or infinite values");
        if (images is { } n && n < tensor.shape[0]) tensor = tensor.narrow(0, 0, n);
        return tensor.to(ScalarType.Float32);
    }

    /// <summary>A dataset's or image folder's images as the model's inputs, and their labels where the source has classes.</summary>
    private static (Tensor Inputs, Tensor? Labels) ReadSource(MergeSession session, string text, long? images)
    {
        var data = session.LoadData(text, "--input", DataSplit.Test, labelsRequired: false, images);
        // The scope owns the tensors from here; the dataset's own handles are released.
        var inputs = data.Images.alias();
        var labels = data.Labels?.alias();
        data.Dispose();
        return (inputs, labels);
    }

    private static IReadOnlyList<Tensor> Run(LoadedModel loaded, Tensor inputs, int batchSize, string inputPath, CancellationToken cancellation)
    {
        using var _ = torch.no_grad();
        var parts = new List<IReadOnlyList<Tensor>>();
        for (long start = 0; start < inputs.shape[0]; start += batchSize)
        {
            cancellation.ThrowIfCancellationRequested();
            var batch = inputs.narrow(0, start, Math.Min(batchSize, inputs.shape[0] - start));
            try
            {
                parts.Add(loaded.Forward(batch).Select(o => o.device_type == DeviceType.CPU ? o : o.cpu()).ToList());
            }
            // libtorch reports a shape mismatch as ExternalException; TorchSharp's own checks throw ArgumentException.
            catch (Exception e) when (e is ExternalException or ArgumentException)
            {
                throw ZipItException.Input(
                    $"{Path.GetFileName(inputPath)}: tensor '{InputTensor}' {Format.Shape(inputs.shape)} does not fit {loaded.Config}: {Messages.OneLine(e.Message)}");
            }
        }
        return Enumerable.Range(0, parts[0].Count)
            .Select(h => parts.Count == 1 ? parts[0][h] : torch.cat(parts.Select(p => p[h]).ToList(), 0))
            .ToList();
    }
}
