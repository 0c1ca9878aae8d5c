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
/// to safetensors, one file or Hugging Face shards plus <c>model.safetensors.index.json</c>, or to
/// a <c>torch.save</c> file when OUT ends in .pt, .pth or .bin. Floating-point tensors take
/// <c>--dtype</c>; integer and boolean tensors keep theirs. Safetensors output keeps the metadata,
/// and a converted torch.save file records where it came from; a torch.save state dict has no
/// place for metadata (torch.load with weights_only builds only tensors and plain containers), so
/// .pt output leaves it out and says so in an information line.
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
            Description = "The file to write: a .safetensors file, or a .pt, .pth or .bin file for a torch.save state dict (PyTorch's zip format, for torch.load(weights_only=True); no metadata). With --shard-size, the folder to write safetensors shards and model.safetensors.index.json into.",
            Required = true,
            HelpName = "OUT",
        };
        var dtype = new Option<string?>("--dtype")
        {
            Description = $"Store floating-point tensors as {StorageDType.Names} (integer and boolean tensors keep their type). [default: as they are]",
            HelpName = "TYPE",
        };
        var shardSize = new Option<string?>("--shard-size")
        {
            Description = "Write shards of at most SIZE bytes of tensor data each (e.g. 2GB, 500MB, 1GiB; KB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024).",
            HelpName = "SIZE",
        };
        var json = CommonOptions.Json();
        var command = new Command("convert", "Convert a checkpoint (PyTorch .pt/.bin, safetensors, sharded, a Hugging Face folder) to safetensors or a torch.save file, optionally sharded or in another float type.")
        {
            checkpoint, output, dtype, shardSize, json,
        };
        command.SetAction((parse, ct) => Task.FromResult(runner.Run(parse, ct, ctx =>
            Execute(ctx, ctx.Value(checkpoint)!, ctx.Value(output)!, ctx.Value(dtype), ctx.Value(shardSize), ctx.Value(json)))));
        return command.WithExamples(
            "dotnet zipit convert pytorch_model.bin -o model.safetensors",
            "dotnet zipit convert merged/ -o merged.pt",
            "dotnet zipit convert model.safetensors --dtype bf16 --shard-size 2GB -o sharded/model.safetensors");
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
        var torchSave = IsTorchSave(output);
        if (shardBytes is not null && torchSave)
            throw ZipItException.Usage($"--shard-size writes safetensors shards into a folder, and -o {output} names a torch.save file, which zipit writes whole: drop --shard-size, or give -o a folder");
        if (shardBytes is null && !torchSave && !output.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            throw ZipItException.Usage($"-o {output}: {DescribeExtension(output)}; give a .safetensors file, or a .pt, .pth or .bin file for torch.save (or --shard-size and a folder for shards)");

        using var checkpoint = Checkpoint.Open(input, ctx.Logger);
        var inputs = checkpoint.Files.Append(checkpoint.Path).Select(Path.GetFullPath).ToHashSet(StringComparer.Ordinal);
        var clash = shardBytes is null ? inputs.FirstOrDefault(f => f == outFull) : ShardClashes(outFull, inputs).FirstOrDefault();
        if (clash is not null)
            throw ZipItException.Usage($"-o {output} would overwrite the input {Path.GetFileName(clash)}; write somewhere else");

        var metadata = new Dictionary<string, string>(checkpoint.Metadata, StringComparer.Ordinal);
        if (torchSave && metadata.Count > 0)
        {
            // torch.load(weights_only=True) builds tensors and plain containers only, and a state
            // dict's values must all be tensors for load_state_dict; the .safetensors input keeps them.
            ctx.Logger.LogInformation("{Output}: a torch.save state dict has no place for metadata; left out its {Count} key(s): {Keys}",
                output, metadata.Count, string.Join(", ", metadata.Keys.Order(StringComparer.Ordinal)));
        }
        else if (checkpoint.Format != CheckpointFormat.Safetensors)
        {
            metadata[ConvertedFromKey] = Path.GetFileName(checkpoint.Path);
            metadata[ConvertedFromFormatKey] = checkpoint.Format == CheckpointFormat.PyTorchZip ? "pytorch-zip" : "pytorch-legacy";
        }

        // In the input's order: a torch.save file keeps it (a state dict read back lists its keys as
        // the input did); safetensors output sorts the names itself.
        var tensors = new List<KeyValuePair<string, Tensor>>();
        try
        {
            foreach (var entry in checkpoint.Entries)
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
                tensors.Add(new(entry.Name, tensor));
            }

            IReadOnlyList<string> written;
            if (torchSave)
            {
                CheckpointWriter.WritePyTorch(output, tensors);
                written = [outFull];
            }
            else if (shardBytes is null)
            {
                CheckpointWriter.WriteFile(output, tensors, metadata);
                written = [outFull];
            }
            else
            {
                written = CheckpointWriter.WriteSharded(output, tensors, metadata, shardBytes.Value);
            }

            var bytes = tensors.Sum(t => t.Value.NumberOfElements * t.Value.ElementSize);
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
            foreach (var t in tensors) t.Value.Dispose();
        }
    }

    /// <summary>Extensions of the torch.save files convert writes (PyTorch's own conventions; .bin as Hugging Face's pytorch_model.bin).</summary>
    private static readonly string[] TorchSaveExtensions = [".pt", ".pth", ".bin"];

    private static bool IsTorchSave(string output) =>
        TorchSaveExtensions.Any(e => output.EndsWith(e, StringComparison.OrdinalIgnoreCase));

    private static string DescribeExtension(string output)
    {
        var extension = Path.GetExtension(output);
        return extension.Length <= 1 ? "the file name has no extension" : $"'{extension}' is not a format convert writes";
    }

    /// <summary>The input files a sharded write into <paramref name="folder"/> could replace: shards
    /// and an index of the writer's names there (whatever their count, so no stale shard is mixed in).</summary>
    private static IEnumerable<string> ShardClashes(string folder, IEnumerable<string> inputs) =>
        inputs.Where(f => string.Equals(Path.GetDirectoryName(f), Path.TrimEndingDirectorySeparator(folder), StringComparison.Ordinal)
            && (Path.GetFileName(f) == Checkpoint.IndexFileName || ShardName().IsMatch(Path.GetFileName(f))));

    [System.Text.RegularExpressions.GeneratedRegex(@"^model-\d{5}-of-\d{5}\.safetensors$")]
    private static partial System.Text.RegularExpressions.Regex ShardName();
}
