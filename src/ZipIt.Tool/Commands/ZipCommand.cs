using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Matching;
using System.CommandLine;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ZipIt.Matching;
using ZipIt.Engine.Models;
using ZipIt.Engine.Merge;
using ZipIt.Engine.Zip;
using ZipIt.Engine.Core;
using ZipIt.Hosting;
using ZipIt.Engine.Output;

namespace ZipIt.Commands;

/// <summary>
/// <c>zip MODEL MODEL... --matches FILE -o OUT [--stop N]</c>: applies the matches through the
/// architecture's merge description and writes the merged (or partially merged, multi-head) model.
/// </summary>
internal static class ZipCommand
{
    public static Command Create(CommandRunner runner)
    {
        var models = new Argument<string[]>("models") { Description = "The checkpoints that were matched, in the same order.", Arity = new ArgumentArity(2, 64) };
        var matches = new Option<string>("--matches") { Description = "Matches file written by 'match'.", Required = true, HelpName = "FILE" };
        var output = new Option<string>("--output", "-o") { Description = "Merged checkpoint to write (.safetensors).", Required = true, HelpName = "FILE" };
        var stop = new Option<string?>("--stop")
        {
            Description = "Partial zip: stop after this point (the paper's n in ZipIt!n/m, e.g. 13, or a stage name such as layer2); each model keeps its own head. [default: full zip]",
            HelpName = "POINT",
        };
        var squared = new Option<bool>("--squared-running-var") { Description = "Merge BatchNorm running variances with the squared merge matrix (the paper's appendix) rather than the plain one (the reference code)." };
        var noIdentityCheck = new Option<bool>(SourceFingerprints.SkipOption) { Description = "Zip even when the matches were computed for other models, or for these models in another order." };
        var arch = CommonOptions.Arch();
        var json = CommonOptions.Json();
        var command = new Command("zip", "Merge models with the matches from 'match': a full zip, or a partial zip with one head per model.")
        {
            models, matches, output, stop, squared, noIdentityCheck, arch, json, CommonOptions.Device(),
        };
        command.SetAction((parse, ct) => Task.FromResult(runner.Run(parse, ct, ctx => Execute(ctx,
            ctx.Value(models)!, ctx.Value(matches)!, ctx.Value(output)!, ctx.Value(stop), ctx.Value(squared), ctx.Value(noIdentityCheck), ctx.Value(arch), ctx.Value(json)))));
        return command.WithExamples(
            "dotnet zipit zip a.safetensors b.safetensors --matches matches.safetensors -o merged.safetensors",
            "dotnet zipit zip a.safetensors b.safetensors --matches matches.safetensors --stop 13 -o partial.safetensors");
    }

    private static int Execute(CommandContext ctx, string[] paths, string matchesPath, string output, string? stop, bool squared, bool noIdentityCheck, string? arch, bool json)
    {
        OutputGuard.RequireDistinct([.. paths.Select(m => new OutputGuard.Named("MODEL", m)), new("--matches", matchesPath)], [new("--output", output)]);
        OutputGuard.RequireWritable("--output", output);
        var clock = Stopwatch.StartNew();
        using var session = MergeSession.Open(ctx.Engine(), new SessionInputs(paths) { Arch = arch });
        var loaded = session.Models;
        var graph = session.Graph;
        var stopStage = StopPoint.Parse(stop, graph, session.Config);
        IReadOnlyDictionary<string, string> recorded;
        using (var matchesFile = Checkpoint.Open(matchesPath)) recorded = matchesFile.Metadata;
        if (!noIdentityCheck) SourceFingerprints.Require(Path.GetFileName(matchesPath), recorded, loaded, session.Fingerprints, ctx.Logger);
        var points = session.PointsUpTo(stopStage);
        var pointCount = points.Count;
        using var matches = new MatchSet(MatchesFile.Read(matchesPath, points, loaded.Count));
        using var zipped = session.Zip(matches, stopStage, new ZipOptions(squared));
        var tasks = loaded.Select(m => m.Metadata.GetValueOrDefault(MetadataKeys.Task) ?? Path.GetFileNameWithoutExtension(m.Path)).ToList();
        var metadata = new Dictionary<string, string>
        {
            [MetadataKeys.Sources] = System.Text.Json.JsonSerializer.Serialize(loaded.Select(m => m.Name)),
            [MetadataKeys.Recipe] = System.Text.Json.JsonSerializer.Serialize(new { models = loaded.Select(m => m.Name), matches = Path.GetFileName(matchesPath), stop }),
        };
        // Carry the matcher and its settings from the matches file, so the checkpoint says how it was made.
        foreach (var key in new[] { MetadataKeys.Matcher, MetadataKeys.MatcherSettings })
            if (recorded.TryGetValue(key, out var value)) metadata[key] = value;
        ZippedCheckpoint.Write(output, zipped, session.Config, graph, tasks, metadata);
        var label = StopPoint.Label(graph, stopStage);
        ctx.Logger.LogInformation("zipped {Count} models (ZipIt!{Label}, {Points} merge points) → {Output} in {Seconds:0.00} s",
            loaded.Count, label, pointCount, output, clock.Elapsed.TotalSeconds);
        if (json)
            Json.Write(ctx.Out, new { output, models = loaded.Count, stop = label, points = pointCount, heads = zipped.Heads.Count, seconds = clock.Elapsed.TotalSeconds });
        return 0;
    }
}
