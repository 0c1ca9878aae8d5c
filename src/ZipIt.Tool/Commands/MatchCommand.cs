using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using TorchSharp;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Matching;
using ZipIt.Engine.Collect;
using ZipIt.Matching;
using ZipIt.Engine.Merge;
using ZipIt.Engine.Models;
using ZipIt.Engine.Zip;
using static TorchSharp.torch;
using ZipIt.Engine.Core;
using ZipIt.Hosting;
using ZipIt.Engine.Output;

namespace ZipIt.Commands;

/// <summary>
/// <c>match METRICS -o MATCHES --matcher NAME</c>: every <c>P.covariance</c> in METRICS yields
/// <c>P.merge</c> [C, N·C] and <c>P.unmerge</c> [N·C, C]. A bare file of covariances works too.
/// </summary>
internal static class MatchCommand
{
    public static Command Create(CommandRunner runner)
    {
        var metrics = new Argument<string>("metrics") { Description = "Metrics file from 'collect', or any safetensors file of P.covariance tensors (metadata 'models' gives their count; 2 when it is absent)." };
        var output = new Option<string>("--output", "-o") { Description = "Matches file to write (.safetensors).", Required = true, HelpName = "FILE" };
        var matcher = new Option<string>("--matcher") { Description = "zipit, permute, average, or a plugin's matcher (see 'plugins list').", DefaultValueFactory = _ => "zipit", HelpName = "NAME" };
        var alpha = new Option<double?>("--alpha") { Description = "ZipIt!'s α: weight of a merged feature's further matches (matchers that declare it).", HelpName = "A" };
        var beta = new Option<double?>("--beta") { Description = "ZipIt!'s β: how much same-model merges are allowed (matchers that declare it).", HelpName = "B" };
        var preset = CommonOptions.Preset();
        var set = new Option<string[]>("--set") { Description = "Any matcher setting as name=value (see 'plugins list --json'). Repeatable.", HelpName = "NAME=VALUE", Arity = ArgumentArity.OneOrMore };
        var models = new Option<string[]>("--models") { Description = "The models' checkpoints, for matchers that use weights.", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = true, HelpName = "FILE" };
        var seed = new Option<long>("--seed") { Description = "Seed for matchers with randomness.", DefaultValueFactory = _ => 0 };
        var noIdentityCheck = new Option<bool>(SourceFingerprints.SkipOption) { Description = "Use the metrics even when --models are not the models (or the order) they were collected from." };
        var json = CommonOptions.Json();
        var command = new Command("match", "Compute merge and unmerge matrices for every merge point from collected statistics.")
        {
            metrics, output, matcher, preset, alpha, beta, set, models, noIdentityCheck, seed, json, CommonOptions.Device(),
        };
        command.SetAction((parse, ct) => Task.FromResult(runner.Run(parse, ct, ctx => Execute(ctx,
            ctx.Value(metrics)!, ctx.Value(output)!, ctx.Value(matcher)!, ctx.Value(preset), ctx.Value(alpha), ctx.Value(beta), ctx.Value(set) ?? [],
            ctx.Value(models) ?? [], ctx.Value(noIdentityCheck), ctx.Value(seed), ctx.Value(json)))));
        return command.WithExamples(
            "dotnet zipit match metrics.safetensors --alpha 0.3 --beta 0.5 -o matches.safetensors",
            "dotnet zipit match metrics.safetensors --matcher mudsc --preset zip --models a.safetensors b.safetensors -o matches.safetensors");
    }

    private static int Execute(CommandContext ctx, string metricsPath, string output, string matcherName, string? preset, double? alpha, double? beta,
        string[] set, string[] modelPaths, bool noIdentityCheck, long seed, bool json)
    {
        OutputGuard.RequireDistinct([new("METRICS", metricsPath), .. modelPaths.Select(m => new OutputGuard.Named("--models", m))], [new("--output", output)]);
        var clock = Stopwatch.StartNew();
        var matcher = ctx.Plugins.Matcher(matcherName);
        var settings = MatchStage.Settings(matcher, MatcherFlags.Values(alpha, beta, set), preset);
        var required = MatchStage.RequiredInputs(matcher, settings);

        using var file = Checkpoint.Open(metricsPath);
        var name = Path.GetFileName(file.Path);
        var graph = GraphOf(ctx, file);
        var (statistics, found) = MetricsFile.Read(file, graph);
        var n = statistics.Models;
        var points = found.Select(p => graph?.Spaces.FirstOrDefault(s => s.Name == p.Name) is { } space
            ? MatchStage.Points([space], statistics)[0]
            : new MatchPoint(p.Name, p.Width) { Covariance = statistics[p.Name].Covariance, Mean = statistics[p.Name].Mean }).ToList();

        MergeSession opened;
        try
        {
            if (required.HasFlag(MatcherInputs.Weights) && modelPaths.Length != n)
                throw ZipItException.Usage($"--matcher {matcher.Name} uses the models' weights: pass the {n} checkpoints with --models");
            if (modelPaths.Length > 0 && modelPaths.Length != n)
                throw ZipItException.Usage($"--models: {name} holds statistics of {n} models, {modelPaths.Length} were given");
            // Without --models the session holds no model: the statistics are all there is.
            opened = MergeSession.Open(ctx.Engine(), new SessionInputs(modelPaths) { Merging = modelPaths.Length > 0 });
        }
        catch
        {
            statistics.Dispose();
            throw;
        }
        using var session = opened;
        session.UseStatistics(statistics);
        var hashes = SourceFingerprints.Read(file.Metadata, name);
        if (modelPaths.Length > 0)
        {
            hashes = session.Fingerprints;
            if (!noIdentityCheck) SourceFingerprints.Require(name, file.Metadata, session.Models, hashes, ctx.Logger);
        }
        if (required.HasFlag(MatcherInputs.Weights))
        {
            graph ??= session.Graph;
            // A bare covariance file names its points but cannot describe them; the models can.
            var known = graph;
            points = points.Select(p => p.Space is not null ? p
                : known.Spaces.FirstOrDefault(s => s.Name == p.Name && s.Width == p.Width) is { } s ? p with { Space = s, Groups = s.Groups } : p).ToList();
        }
        using var matches = session.Match(matcher, settings, points, n, graph, seed, name);
        // The matches are for the models the statistics came from (or, when given, the --models).
        var provenance = new Dictionary<string, string>();
        if (hashes is not null) provenance[MetadataKeys.SourceFingerprints] = SourceFingerprints.Serialize(hashes);
        if (session.Models.Count > 0) provenance[MetadataKeys.Sources] = System.Text.Json.JsonSerializer.Serialize(session.Models.Select(m => m.Name));
        else if (file.Metadata.TryGetValue(MetadataKeys.Sources, out var sources)) provenance[MetadataKeys.Sources] = sources;
        MatchesFile.Write(output, n, points.Select(p => p.Name).ToList(), matches, matcher.Name, settings.Effective, provenance);
        ctx.Logger.LogInformation("matched {Points} points of {Models} models with {Matcher} → {Output} in {Seconds:0.00} s",
            points.Count, n, matcher.Name, output, clock.Elapsed.TotalSeconds);
        if (json)
            Json.Write(ctx.Out, new { output, matcher = matcher.Name, settings = settings.Effective, models = n, points = points.Count, seconds = clock.Elapsed.TotalSeconds });
        return 0;
    }

    private static MergeGraph? GraphOf(CommandContext ctx, Checkpoint file)
    {
        if (!file.Metadata.TryGetValue(MetadataKeys.Architecture, out var archName)) return null;
        var architecture = ctx.Plugins.Architecture(archName);
        if (architecture is null || !file.Metadata.TryGetValue(MetadataKeys.Variant, out var variant)) return null;
        var settings = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(file.Metadata.GetValueOrDefault(MetadataKeys.Config) ?? "{}");
        return architecture.Describe(new ArchitectureConfig(architecture.Name, variant, settings));
    }
}
