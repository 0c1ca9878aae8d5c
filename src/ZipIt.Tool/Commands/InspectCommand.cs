using System.CommandLine;
using ZipIt.Checkpoints;
using ZipIt.Cli;
using ZipIt.Models;
using ZipIt.Output;

namespace ZipIt.Commands;

/// <summary><c>inspect CHECKPOINT</c>: tensors, dtypes, shapes, parameter count, metadata, and what the plugins recognise. Reads headers only (for a torch.save file: its pickle, never its storages).</summary>
internal static class InspectCommand
{
    public static Command Create(CommandRunner runner)
    {
        var checkpoint = CommonOptions.Checkpoint();
        var json = CommonOptions.Json();
        var arch = CommonOptions.Arch();
        var command = new Command("inspect", "Show a checkpoint's tensors, metadata, parameter count and recognised architecture (reads no tensor data).")
        {
            checkpoint, json, arch,
        };
        command.SetAction((parse, ct) => Task.FromResult(runner.Run(parse, ct, ctx =>
            Execute(ctx, ctx.Value(checkpoint)!, ctx.Value(json), ctx.Value(arch)))));
        return command;
    }

    private static int Execute(CommandContext ctx, string path, bool json, string? arch)
    {
        using var checkpoint = Checkpoint.Open(path, ctx.Logger);
        var identity = ctx.Get<ModelLoader>().Identify(checkpoint, arch, required: arch is not null);
        var graph = identity is { Mismatch: null } ? identity.Architecture.Describe(identity.Config) : null;
        var plugin = identity is null ? null : ctx.Plugins.Architectures.First(a => a.Architecture == identity.Architecture).Plugin;
        var entries = checkpoint.Entries.OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
        var dtypes = entries.GroupBy(e => e.DType).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count());
        var bytes = entries.Sum(e => e.ByteLength);
        var files = checkpoint.Files.Count;
        var stops = graph?.Stages.Where(s => s.StopLabel is not null)
            .Select(s => new { label = $"{s.StopLabel}/{graph.LayerCount}", stage = s.Name, space = s.OutputSpace }).ToList();

        if (json)
        {
            Json.Write(ctx.Out, new
            {
                version = 1,
                path,
                format = FormatCode(checkpoint.Format),
                sharded = checkpoint.IsSharded,
                folder = checkpoint.Folder is not null,
                description = checkpoint.Description,
                files,
                tensorCount = entries.Count,
                bytes,
                dtypes,
                metadata = checkpoint.Metadata,
                architecture = identity is null ? null : new
                {
                    name = identity.Architecture.Name,
                    variant = identity.Config.Variant,
                    settings = identity.Config.Settings,
                    plugin = plugin?.Name,
                    pluginVersion = plugin?.Version,
                    parameters = identity.ParameterCount,
                    matches = identity.Mismatch is null,
                    mismatch = identity.Mismatch,
                    mergePoints = graph?.Spaces.Select(s => new { name = s.Name, width = s.Width, groups = s.Groups?.Count, residualStream = s.IsResidualStream }),
                    stopPoints = stops,
                },
                tensors = entries.Select(e => new { name = e.Name, dtype = e.DType, shape = e.Shape }),
            });
            return 0;
        }

        var o = ctx.Out;
        o.WriteLine($"checkpoint:   {path}");
        o.WriteLine($"format:       {checkpoint.Description}");
        o.WriteLine($"files:        {files}");
        o.WriteLine($"tensors:      {entries.Count} ({string.Join(", ", dtypes.Select(d => $"{d.Key} {d.Value}"))}), {Format.Bytes(bytes)}");
        if (checkpoint.Metadata.TryGetValue(ModelLoader.KindKey, out var kind) && kind != "model")
        {
            o.WriteLine($"kind:         zipit {kind} file");
        }
        else if (identity is null)
        {
            o.WriteLine("architecture: not recognised by any installed plugin");
        }
        else
        {
            o.WriteLine($"architecture: {identity.Config} [{plugin?.Name} {plugin?.Version}]");
            o.WriteLine($"parameters:   {Format.Count(identity.ParameterCount)}");
            o.WriteLine(identity.Mismatch is null ? "keys:         match the architecture" : $"keys:         DO NOT match the architecture: {identity.Mismatch}");
            if (graph is not null)
            {
                o.WriteLine($"merge points: {graph.Spaces.Count}");
                o.WriteLine($"stop points:  {string.Join(", ", stops!.Select(s => $"{s.label} ({s.stage})"))}");
            }
        }
        if (checkpoint.Metadata.Count > 0)
        {
            o.WriteLine("metadata:");
            var table = new TextTable();
            foreach (var (k, v) in checkpoint.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) table.Add(k, v);
            table.Write(o, "  ");
        }
        o.WriteLine("tensors:");
        var tensors = new TextTable("name", "dtype", "shape");
        foreach (var e in entries) tensors.Add(e.Name, e.DType, Format.Shape(e.Shape));
        tensors.Write(o, "  ");
        return 0;
    }

    /// <summary>The <c>--json</c> name of a format.</summary>
    private static string FormatCode(CheckpointFormat format) => format switch
    {
        CheckpointFormat.PyTorchZip => "pytorch-zip",
        CheckpointFormat.PyTorchLegacy => "pytorch-legacy",
        _ => "safetensors",
    };
}
