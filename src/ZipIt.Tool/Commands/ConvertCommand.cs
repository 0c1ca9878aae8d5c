using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using TorchSharp;
using ZipIt.Engine.Checkpoints;
using ZipIt.Hosting;
using ZipIt.Engine.Core;
using ZipIt.Engine.Output;
using static TorchSharp.torch;

namespace ZipIt.Commands;

/// <summary>
/// <c>convert IN -o OUT [--dtype f32|f16|bf16] [--shard-size SIZE]</c>: any checkpoint zipit reads
/// to safetensors, one file or Hugging Face shards plus <c>model.safetensors.index.json</c>.
/// Floating-point tensors take <c>--dtype</c>; integer and boolean tensors keep theirs. Metadata
/// is kept; a converted torch.save file records where it came from.
/// </summary>
internal static partial class ConvertCommand
{
    /// <summary>Metadata key: the file name of the checkpoint converted from (not set for safetensors input).</summary>
    public const string ConvertedFromKey = "zipit.converted_from";

    /// <summary>Metadata key: that checkpoint's format (pytorch-zip, pytorch-legacy).</summary>
    public const string ConvertedFromFormatKey = "zipit.converted_from_format";

    public static Command Create(CommandRunner runner)
    {
        var checkpoint = CommonOptions.Checkpoint("The checkpoint to convert: a .safetensors file, a torch.save file (.pt, .pth, .bin), a sharded *.index.json, or a folder holding one.");
        var output = new Option<string>("--output", "-o")
        {
            Description = "The .safetensors file to write; with --shard-size, the folder to write the shards and model.safetensors.index.json into.",
            Required = true,
            HelpName = "OUT",
        };
        var dtype = new Option<string?>("--dtype")
        {
            Description = $"Store floating-point tensors as {StorageDType.Names} (integer and boolean tensors keep their type). Default: as they are.",
            HelpName = "TYPE",
        };
        var shardSize = new Option<string?>("--shard-size")
        {
            Description = "Write shards of at most SIZE bytes of tensor data each (e.g. 2GB, 500MB, 1GiB; KB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024).",
            HelpName = "SIZE",
        };
        var json = CommonOptions.Json();
        var command = new Command("convert", "Convert a checkpoint (PyTorch .pt/.bin, safetensors, sharded, a Hugging Face folder) to safetensors, optionally sharded or in another float type.")
        {
            checkpoint, output, dtype, shardSize, json,
        };
        command.SetAction((parse, ct) => Task.FromResult(runner.Run(parse, ct, ctx =>
            Execute(ctx, ctx.Value(checkpoint)!, ctx.Value(output)!, ctx.Value(dtype), ctx.Value(shardSize), ctx.Value(json)))));
        return command;
    }

    private static int Execute(CommandContext ctx, string input, string output, string? dtypeName, string? shardSizeText, bool json)
    {
        var dtype = StorageDType.Parse(dtypeName);
        var shardBytes = shardSizeText is null ? (long?)null : ByteSize.Parse(shardSizeText, "--shard-size");
        var outFull = Path.GetFullPath(output);
        if (shardBytes is null && Directory.Exists(outFull))
            throw ZipItException.Usage($"-o {output} is a folder; give a .safetensors file name (or --shard-size to write shards into a folder)");
        if (shardBytes is not null && File.Exists(outFull))
            throw ZipItException.Usage($"-o {output} is a file; with --shard-size, -o names the folder to write the shards into");

        using var checkpoint = Checkpoint.Open(input, ctx.Logger);
        var inputs = checkpoint.Files.Append(checkpoint.Path).Select(Path.GetFullPath).ToHashSet(StringComparer.Ordinal);
        var clash = shardBytes is null ? inputs.FirstOrDefault(f => f == outFull) : ShardClashes(outFull, inputs).FirstOrDefault();
        if (clash is not null)
            throw ZipItException.Usage($"-o {output} would overwrite the input {Path.GetFileName(clash)}; write somewhere else");

        var metadata = new Dictionary<string, string>(checkpoint.Metadata, StringComparer.Ordinal);
        if (checkpoint.Format != CheckpointFormat.Safetensors)
        {
            metadata[ConvertedFromKey] = Path.GetFileName(checkpoint.Path);
            metadata[ConvertedFromFormatKey] = checkpoint.Format == CheckpointFormat.PyTorchZip ? "pytorch-zip" : "pytorch-legacy";
        }

        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var entry in checkpoint.Entries.OrderBy(e => e.Name, StringComparer.Ordinal))
            {
                ctx.CancellationToken.ThrowIfCancellationRequested();
                var tensor = checkpoint.Read(entry.Name);
                if (StorageDType.Changes(tensor, dtype))
                {
                    // Convert one tensor at a time, so the input's copy never sits beside the whole output.
                    var converted = StorageDType.Cast(tensor, dtype);
                    tensor.Dispose();
                    tensor = converted;
                }
                tensors.Add(entry.Name, tensor);
            }

            IReadOnlyList<string> written;
            if (shardBytes is null)
            {
                CheckpointWriter.WriteFile(output, tensors, metadata);
                written = [outFull];
            }
            else
            {
                written = CheckpointWriter.WriteSharded(output, tensors, metadata, shardBytes.Value);
            }

            var bytes = tensors.Values.Sum(t => t.NumberOfElements * t.ElementSize);
            ctx.Logger.LogInformation("{Input} ({Format}): {Count} tensors → {Output} ({Files} file(s), {Bytes})",
                input, checkpoint.Description, tensors.Count, output, written.Count, Format.Bytes(bytes));
            if (json)
                Json.Write(ctx.Out, new { input, format = checkpoint.Description, output, files = written, tensors = tensors.Count, bytes });
            else
                ctx.Out.WriteLine($"wrote {output}: {tensors.Count} tensors, {Format.Bytes(bytes)}" + (written.Count > 1 ? $", {written.Count - 1} shards" : ""));
            return 0;
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }


    /// <summary>The input files a sharded write into <paramref name="folder"/> could replace: shards
    /// and an index of the writer's names there (whatever their count, so no stale shard is mixed in).</summary>
    private static IEnumerable<string> ShardClashes(string folder, IEnumerable<string> inputs) =>
        inputs.Where(f => string.Equals(Path.GetDirectoryName(f), Path.TrimEndingDirectorySeparator(folder), StringComparison.Ordinal)
            && (Path.GetFileName(f) == Checkpoint.IndexFileName || ShardName().IsMatch(Path.GetFileName(f))));

    [System.Text.RegularExpressions.GeneratedRegex(@"^model-\d{5}-of-\d{5}\.safetensors$")]
    private static partial System.Text.RegularExpressions.Regex ShardName();
}
