using System.CommandLine;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using TorchSharp;
using ZipIt.Engine.Checkpoints;
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
        var input = new Option<string>("--input", "-i") { Description = "A .safetensors file holding tensor 'input' (e.g. [B, 3, H, W] float images).", Required = true, HelpName = "FILE" };
        var output = new Option<string>("--output", "-o") { Description = "Where to write the .safetensors file holding tensor 'output'.", Required = true, HelpName = "FILE" };
        var batchSize = new Option<int>("--batch-size") { Description = "Inputs per forward pass.", DefaultValueFactory = _ => 256, HelpName = "N" };
        var compare = new Option<string?>("--compare")
        {
            Description = "A .safetensors file holding the expected tensor 'output' (e.g. saved from PyTorch): report the largest absolute difference.",
            HelpName = "FILE",
        };
        var arch = CommonOptions.Arch();
        var json = CommonOptions.Json();
        var command = new Command("predict", "Run a model on the tensor 'input' of a safetensors file and write tensor 'output' (output.0, output.1, ... for a multi-head model).")
        {
            checkpoint, input, output, compare, arch, batchSize, json, CommonOptions.Device(),
        };
        command.SetAction((parse, ct) => Task.FromResult(runner.Run(parse, ct, ctx =>
            Execute(ctx, ctx.Value(checkpoint)!, ctx.Value(input)!, ctx.Value(output)!, ctx.Value(compare), ctx.Value(arch), ctx.Value(batchSize), ctx.Value(json)))));
        return command;
    }

    private static int Execute(CommandContext ctx, string checkpointPath, string inputPath, string outputPath, string? comparePath, string? arch, int batchSize, bool json)
    {
        if (batchSize < 1) throw ZipItException.Usage($"--batch-size must be at least 1, got {batchSize}");
        OutputGuard.RequireDistinct([new("CHECKPOINT", checkpointPath), new("--input", inputPath), new("--compare", comparePath)], [new("--output", outputPath)]);
        OutputGuard.RequireWritable("--output", outputPath);
        var clock = Stopwatch.StartNew();
        using var session = MergeSession.Open(ctx.Engine(), new SessionInputs([checkpointPath]) { Arch = arch, Merging = false });
        var loaded = session.Models[0];
        var loadSeconds = clock.Elapsed.TotalSeconds;

        using var scope = torch.NewDisposeScope();
        var inputs = ReadInput(inputPath);
        var outputs = Run(loaded, inputs, batchSize, inputPath, ctx.CancellationToken);
        var named = outputs.Count == 1
            ? new Dictionary<string, Tensor> { [OutputTensor] = outputs[0] }
            : outputs.Select((o, i) => (o, i)).ToDictionary(x => $"{OutputTensor}.{x.i}", x => x.o);
        var difference = comparePath is null ? (double?)null : MaxDifference(named, comparePath);
        var outputFile = Path.GetFileName(outputPath);
        CheckpointWriter.WriteFile(outputPath, named, new Dictionary<string, string>
        {
            ["format"] = "pt",
            [MetadataKeys.Source] = Path.GetFileName(loaded.Path),
        });
        var seconds = clock.Elapsed.TotalSeconds;
        ctx.Logger.LogInformation("{Model}: {Count} inputs → {Output} {Names} {Shape} in {Seconds:0.000} s ({Load:0.000} s loading)",
            loaded.Config, inputs.shape[0], outputFile, string.Join(", ", named.Keys), Format.Shape(outputs[0].shape), seconds, loadSeconds);
        if (json)
            Json.Write(ctx.Out, new { output = outputPath, tensors = named.Keys, shape = outputs[0].shape, model = loaded.Config.ToString(), seconds, loadSeconds, compare = comparePath, maxAbsDifference = difference });
        else if (difference is { } d)
            ctx.Out.WriteLine($"max abs difference from {Path.GetFileName(comparePath)}: {d:0.###e+00}");
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

    private static Tensor ReadInput(string path)
    {
        using var file = Checkpoint.Open(path);
        var name = Path.GetFileName(file.Path);
        if (!file.Contains(InputTensor))
            throw ZipItException.Input($"{name} has no tensor '{InputTensor}' (it has {string.Join(", ", file.Entries.Select(e => $"'{e.Name}'").Take(5))})");
        var tensor = file.Read(InputTensor);
        if (!tensor.is_floating_point())
            throw ZipItException.Input($"{name}: tensor '{InputTensor}' is {tensor.dtype}; a floating-point tensor is needed");
        if (tensor.dim() < 2 || tensor.shape[0] == 0)
            throw ZipItException.Input($"{name}: tensor '{InputTensor}' has shape {Format.Shape(tensor.shape)}; expected a batch [B, ...] with B ≥ 1");
        return tensor.to(ScalarType.Float32);
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
