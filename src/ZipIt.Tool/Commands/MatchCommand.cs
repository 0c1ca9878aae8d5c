using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using TorchSharp;
using ZipIt.Checkpoints;
using ZipIt.Cli;
using ZipIt.Collect;
using ZipIt.Matching;
using ZipIt.Models;
using ZipIt.Zip;
using static TorchSharp.torch;
using ZipIt.Core;
using ZipIt.Output;

namespace ZipIt.Commands;

/// <summary>
/// <c>match METRICS -o MATCHES --matcher NAME</c>: every <c>P.covariance</c> in METRICS yields
/// <c>P.merge</c> [C, N·C] and <c>P.unmerge</c> [N·C, C]. A bare file of covariances works too.
/// </summary>
internal static class MatchCommand
{
    public static Command Create(CommandRunner runner)
    {
        var metrics = new Argument<string>("metrics") { Description = "Metrics file from 'collect', or any safetensors file of P.covariance tensors (metadata 'models', default 2)." };
        var output = new Option<string>("--output", "-o") { Description = "Matches file to write (.safetensors).", Required = true, HelpName = "FILE" };
        var matcher = new Option<string>("--matcher") { Description = "zipit, permute, average, or a plugin's matcher (see 'plugins list').", DefaultValueFactory = _ => "zipit", HelpName = "NAME" };
        var alpha = new Option<double?>("--alpha") { Description = "ZipIt!'s α: weight of a merged feature's further matches (matchers that declare it).", HelpName = "A" };
        var beta = new Option<double?>("--beta") { Description = "ZipIt!'s β: how much same-model merges are allowed (matchers that declare it).", HelpName = "B" };
        var balance = CommonOptions.Balance();
        var mode = CommonOptions.Mode();
        var set = new Option<string[]>("--set") { Description = "Any matcher setting as name=value (see 'plugins list --json'). Repeatable.", HelpName = "NAME=VALUE", Arity = ArgumentArity.OneOrMore };
        var models = new Option<string[]>("--models") { Description = "The models' checkpoints, for matchers that use weights.", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = true, HelpName = "FILE" };
        var seed = new Option<long>("--seed") { Description = "Seed for matchers with randomness.", DefaultValueFactory = _ => 0 };
        var json = CommonOptions.Json();
        var command = new Command("match", "Compute merge and unmerge matrices for every merge point from collected statistics.")
        {
            metrics, output, matcher, alpha, beta, balance, mode, set, models, seed, json, CommonOptions.Device(),
        };
        command.SetAction((parse, ct) => Task.FromResult(runner.Run(parse, ct, ctx => Execute(ctx,
            ctx.Value(metrics)!, ctx.Value(output)!, ctx.Value(matcher)!, ctx.Value(alpha), ctx.Value(beta), ctx.Value(balance), ctx.Value(mode), ctx.Value(set) ?? [],
            ctx.Value(models) ?? [], ctx.Value(seed), ctx.Value(json)))));
        return command;
    }

    private static int Execute(CommandContext ctx, string metricsPath, string output, string matcherName, double? alpha, double? beta,
        double? balance, string? mode, string[] set, string[] modelPaths, long seed, bool json)
    {
        OutputGuard.RequireDistinct([new("METRICS", metricsPath), .. modelPaths.Select(m => new OutputGuard.Named("--models", m))], [new("--output", output)]);
        var clock = Stopwatch.StartNew();
        var matcher = ctx.Plugins.Matcher(matcherName);
        var settings = MatchStage.Settings(matcher, SettingValues(alpha, beta, set, balance, mode));
        var required = MatchStage.RequiredInputs(matcher, settings);

        using var file = Checkpoint.Open(metricsPath);
        var name = Path.GetFileName(file.Path);
        var n = MetricsFile.Models(file);
        var graph = GraphOf(ctx, file);
        var points = new List<MatchPoint>();
        using var scope = torch.NewDisposeScope();
        foreach (var point in MetricsFile.Points(file))
        {
            var covariance = file.Read(point + MetricsFile.CovarianceSuffix);
            if (covariance.dim() != 2 || covariance.shape[0] != covariance.shape[1] || covariance.shape[0] % n != 0 || covariance.shape[0] == 0)
                throw ZipItException.Input($"{name}: tensor '{point}{MetricsFile.CovarianceSuffix}' has shape [{string.Join(",", covariance.shape)}]; a square [N·C, N·C] with N = {n} is needed");
            if (!covariance.is_floating_point() || !covariance.isfinite().all().item<bool>())
                throw ZipItException.Input($"{name}: tensor '{point}{MetricsFile.CovarianceSuffix}' must hold finite floating-point values");
            var width = (int)(covariance.shape[0] / n);
            var space = graph?.Spaces.FirstOrDefault(s => s.Name == point);
            if (space is not null && space.Width != width)
                throw ZipItException.Input($"{name}: point '{point}' has {width} units per model, the architecture says {space.Width}");
            var mean = file.Contains(point + MetricsFile.MeanSuffix) ? file.Read(point + MetricsFile.MeanSuffix).to(ScalarType.Float64) : null;
            points.Add(new MatchPoint(point, width) { Space = space, Groups = space?.Groups, Covariance = covariance.to(ScalarType.Float64), Mean = mean });
        }
        if (points.Count == 0)
            throw ZipItException.Input($"{name} holds no '*{MetricsFile.CovarianceSuffix}' tensors");

        IReadOnlyList<IReadOnlyDictionary<string, Tensor>>? weights = null;
        var loaded = new List<LoadedModel>();
        try
        {
            if (required.HasFlag(MatcherInputs.Weights))
            {
                if (modelPaths.Length != n)
                    throw ZipItException.Usage($"--matcher {matcher.Name} uses the models' weights: pass the {n} checkpoints with --models");
                loaded = ctx.Get<ModelLoader>().LoadAll(modelPaths);
                graph ??= loaded[0].Graph;
                // A bare covariance file names its points but cannot describe them; the models can.
                var known = graph;
                points = points.Select(p => p.Space is not null ? p
                    : known.Spaces.FirstOrDefault(s => s.Name == p.Name && s.Width == p.Width) is { } s ? p with { Space = s, Groups = s.Groups } : p).ToList();
                weights = loaded.Select(m => m.CpuState()).ToList();
            }
            var matches = MatchStage.Run(matcher, settings, points, n, graph, weights, seed, ctx.Logger, ctx.CancellationToken, name);
            MatchesFile.Write(output, n, points.Select(p => p.Name).ToList(), matches, matcher.Name, settings.Effective);
            ctx.Logger.LogInformation("matched {Points} points of {Models} models with {Matcher} → {Output} in {Seconds:0.00} s",
                points.Count, n, matcher.Name, output, clock.Elapsed.TotalSeconds);
            if (json)
                Output.Json.Write(ctx.Out, new { output, matcher = matcher.Name, settings = settings.Effective, models = n, points = points.Count, seconds = clock.Elapsed.TotalSeconds });
            return 0;
        }
        finally
        {
            foreach (var m in loaded) m.Dispose();
        }
    }

    /// <summary>The matcher settings given as flags: --set name=value, with --alpha/--beta/--balance/--mode as short-hands.</summary>
    internal static Dictionary<string, string> SettingValues(double? alpha, double? beta, IEnumerable<string> set, double? balance = null, string? mode = null)
    {
        var values = CommonOptions.Settings(set);
        if (alpha is { } a) values["alpha"] = a.ToString("R", CultureInfo.InvariantCulture);
        if (beta is { } b) values["beta"] = b.ToString("R", CultureInfo.InvariantCulture);
        if (balance is { } f) values["balance"] = f.ToString("R", CultureInfo.InvariantCulture);
        if (mode is not null) values["mode"] = mode;
        return values;
    }

    private static MergeGraph? GraphOf(CommandContext ctx, Checkpoint file)
    {
        if (!file.Metadata.TryGetValue(ModelLoader.ArchitectureKey, out var archName)) return null;
        var architecture = ctx.Plugins.Architecture(archName);
        if (architecture is null || !file.Metadata.TryGetValue(ModelLoader.VariantKey, out var variant)) return null;
        var settings = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(file.Metadata.GetValueOrDefault(ModelLoader.ConfigKey) ?? "{}");
        return architecture.Describe(new ArchitectureConfig(architecture.Name, variant, settings));
    }
}
