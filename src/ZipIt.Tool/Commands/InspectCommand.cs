using System.CommandLine;
using ZipIt.Engine.Runtime;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Models;
using ZipIt.Engine.Output;
using ZipIt.Engine.Core;
using ZipIt.Hosting;

namespace ZipIt.Commands;

/// <summary><c>inspect CHECKPOINT</c>: tensors, dtypes, shapes, parameter count, metadata, and what the plugins recognise. Reads headers only (for a torch.save file: its pickle, never its storages).</summary>
internal static class InspectCommand
{
    public static Command Create(CommandRunner runner)
    {
        var checkpoint = CommonOptions.Checkpoint();
        var json = CommonOptions.Json();
        var arch = CommonOptions.Arch();
        // --graph (with --arch-set for a variant): the merge-graph view (InspectGraph), of a checkpoint or of a registered variant.
        var graphView = new Option<bool>("--graph") { Arity = ArgumentArity.Zero, Description = "Show the merge graph instead: every feature space (width, groups, producers, norms, consumers, taps), the stages and the declared inputs and outputs. CHECKPOINT may then be a registered variant name, e.g. resnet20." };
        var command = new Command("inspect", "Show a checkpoint's tensors, metadata, parameter count and recognised architecture (reads no tensor data).")
        {
            checkpoint, json, arch, graphView,
        };
        command.SetAction((parse, ct) => Task.FromResult(runner.Run(parse, ct, ctx => ctx.Value(graphView)
            ? ExecuteGraph(ctx, ctx.Value(checkpoint)!, ctx.Value(json), ctx.Value(arch), ctx.Value(GlobalOptions.ArchSettings) ?? [])
            : Execute(ctx, ctx.Value(checkpoint)!, ctx.Value(json), ctx.Value(arch)))));
        return command.WithExamples(
            "dotnet zipit inspect model.safetensors",
            "dotnet zipit inspect vit.pth --arch-set heads=6 --graph",
            "dotnet zipit inspect resnet20 --graph --arch-set width=4");
    }

    /// <summary>The merge graph of a checkpoint (an existing path) or of a registered variant (any other name), checked as on a load.</summary>
    private static int ExecuteGraph(CommandContext ctx, string target, bool json, string? arch, string[] set)
    {
        var loader = ctx.Get<ModelLoader>();
        if (File.Exists(target) || Directory.Exists(target))
        {
            using var checkpoint = Checkpoint.Open(target);
            var identity = loader.Identify(checkpoint, arch)!;
            return InspectGraph.Write(ctx, identity.Architecture, identity.Config, target, json);
        }
        if (arch is not null) throw ZipItException.Usage("--arch applies to a checkpoint; with a variant name the variant says the architecture");
        var (architecture, config) = ctx.Plugins.Configure(target, CommonOptions.ArchSettings(set));
        TorchRuntime.Initialize();
        using (var model = architecture.Create(config))
            GraphCheck.Require(loader.PluginName(architecture), config, architecture.Describe(config), model);
        return InspectGraph.Write(ctx, architecture, config, $"variant {config.Variant}", json);
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
                    notes = identity.Config.Notes.Count == 0 ? null : identity.Config.Notes,
                    strippedKeyPrefix = identity.Remapping is { IsNone: false } r ? r.Prefix : null,
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
        if (checkpoint.Metadata.TryGetValue(MetadataKeys.Kind, out var kind) && kind != "model")
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
            // How the plugin decided settings the checkpoint does not record (a ViT's head count).
            foreach (var note in identity.Config.Notes) o.WriteLine($"note:         {note}");
            if (identity.Remapping is { IsNone: false } remap) o.WriteLine($"note:         every key starts with '{remap.Prefix}' (a training wrapper's prefix): read without it");
            o.WriteLine($"parameters:   {Format.Count(identity.ParameterCount)}");
            o.WriteLine(identity.Mismatch is null ? "keys:         match the architecture" : $"keys:         DO NOT match the architecture: {identity.Mismatch}");
            if (graph is not null)
            {
                var grouped = graph.Spaces.Where(s => s.Groups is not null).ToList();
                o.WriteLine(grouped.Count == 0
                    ? $"merge points: {graph.Spaces.Count}"
                    : $"merge points: {graph.Spaces.Count} ({grouped.Count} grouped into {string.Join("/", grouped.Select(s => s.Groups!.Count).Distinct())} heads or groups)");
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
