using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Core;
using ZipIt.Engine.Matching;
using ZipIt.Engine.Merge;
using ZipIt.Engine.Models;
using ZipIt.Engine.Output;
using ZipIt.Engine.Refit;
using ZipIt.Hosting;

namespace ZipIt.Commands;

/// <summary>
/// <c>refit MERGED BASE... --matches FILE --data SOURCE -o OUT</c>: re-solves every conv and linear
/// layer of a zipped model by least squares on calibration images (the refit stage of
/// <c>merge --refit</c>), then resets its BatchNorm statistics on the same images.
/// </summary>
internal static class RefitCommand
{
    public static Command Create(CommandRunner runner)
    {
        var merged = new Argument<string>("merged") { Description = "The zipped model to refit (a full zip, or a partial zip with one head per base model)." };
        var bases = new Argument<string[]>("models") { Description = "The checkpoints it was zipped from, in the order they were matched.", Arity = new ArgumentArity(1, 64) };
        var matches = new Option<string>("--matches") { Description = "The matches file it was zipped with (written by 'match').", Required = true, HelpName = "FILE" };
        var data = DataOptions.Data("Calibration images");
        var images = DataOptions.Images();
        var preprocess = DataOptions.Preprocess();
        var batchSize = DataOptions.BatchSize();
        var variant = CommonOptions.Choice<RefitVariant>("--variant",
            "teacher: each layer's inputs from the base models (one pass over the data); sequential: from the refit model itself, after the layers before it (one pass per layer).",
            RefitVariant.Teacher);
        var ridge = new Option<double>("--ridge")
        {
            Description = "The ridge λ, relative to the mean eigenvalue of each layer's input Gram; it pulls towards the zipped weights (0: plain least squares, refused where the inputs do not determine the weights).",
            DefaultValueFactory = _ => RefitOptions.DefaultRidge,
            HelpName = "LAMBDA",
        };
        var resetBn = new Option<bool>("--reset-bn")
        {
            Description = "First recompute the base models' BatchNorm statistics on the same data, as merge does before it collects (--reset-bn false when the matches were computed without). [default: true]",
            DefaultValueFactory = _ => true,
        };
        var output = new Option<string>("--output", "-o") { Description = "Refit checkpoint to write (.safetensors), in the merged model's layout.", Required = true, HelpName = "FILE" };
        var noIdentityCheck = new Option<bool>(SourceFingerprints.SkipOption) { Description = "Refit even when the matches were computed for other models, or for these models in another order." };
        var arch = CommonOptions.Arch();
        var json = CommonOptions.Json();
        var maxMemory = CommonOptions.MaxMemory();
        var command = new Command("refit", "Re-solve a zipped model's conv and linear layers by least squares on calibration data (PLeaS-style), then reset its BatchNorm.")
        {
            merged, bases, matches, data, images, preprocess, batchSize, variant, ridge, resetBn, output, noIdentityCheck, arch, maxMemory, json, CommonOptions.Device(),
        };
        command.SetAction((parse, ct) => Task.FromResult(runner.Run(parse, ct, ctx => Execute(ctx, new Request(
            ctx.Value(merged)!, ctx.Value(bases)!, ctx.Value(matches)!, ctx.Value(data)!, ctx.Value(images), ctx.Value(preprocess), ctx.Value(batchSize),
            new RefitOptions(ctx.Value(variant) ?? RefitVariant.Teacher, RefitOptions.RequireRidge(ctx.Value(ridge), "--ridge")) { RidgeOption = "--ridge" }, ctx.Value(resetBn),
            ctx.Value(output)!, ctx.Value(noIdentityCheck), ctx.Value(arch), CommonOptions.MaxMemoryBytes(ctx.Value(maxMemory)), ctx.Value(json))))));
        return command.WithExamples(
            "dotnet zipit refit merged.safetensors a.safetensors b.safetensors --matches matches.safetensors --data images/ -o refit.safetensors",
            "dotnet zipit refit merged.safetensors a.safetensors b.safetensors --matches matches.safetensors --data fashion-mnist:train --images 500 --variant sequential --ridge 0.01 -o refit.safetensors");
    }

    private sealed record Request(string Merged, string[] Bases, string Matches, string Data, long? Images, string[]? Preprocess, int BatchSize, RefitOptions Options,
        bool ResetBn, string Output, bool NoIdentityCheck, string? Arch, long? MaxMemory, bool Json);

    private static int Execute(CommandContext ctx, Request r)
    {
        DataOptions.Validate(r.Images, r.BatchSize);
        OutputGuard.RequireDistinct(
            [new("MERGED", r.Merged), .. r.Bases.Select(m => new OutputGuard.Named("MODEL", m)), new("--matches", r.Matches), new("--data", r.Data)],
            [new("--output", r.Output)]);
        OutputGuard.RequireWritable("--output", r.Output);
        var clock = Stopwatch.StartNew();
        using var session = MergeSession.Open(ctx.Engine(r.MaxMemory), new SessionInputs(r.Bases) { Arch = r.Arch, Data = r.Data, Images = r.Images, Preprocess = r.Preprocess });
        using var merged = session.OpenModel(r.Merged, r.Arch);
        IReadOnlyDictionary<string, string> recorded;
        using (var file = Checkpoint.Open(r.Matches)) recorded = file.Metadata;
        // Before the BatchNorm reset changes the models: the identity is that of the files given.
        if (!r.NoIdentityCheck) SourceFingerprints.Require(Path.GetFileName(r.Matches), recorded, session.Models, session.Fingerprints, ctx.Logger);
        var points = session.PointsUpTo(merged.Layout?.StopStage);
        using var matches = new MatchSet(MatchesFile.Read(r.Matches, points, session.Models.Count));
        session.RequireRefit(merged, matches);
        var dataset = session.Calibration!;
        if (r.ResetBn) session.ResetBn(r.BatchSize);
        var report = session.Refit(merged, matches, r.BatchSize, r.Options);
        // The refit layers' outputs have new statistics: every BatchNorm (trunk and heads) is reset on the same images.
        session.ResetBatchNorm(merged, dataset, r.BatchSize);
        var refit = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["variant"] = RefitOptions.Name(r.Options.Variant),
            ["ridge"] = r.Options.Ridge,
            ["images"] = dataset.Count,
            ["matches"] = Path.GetFileName(r.Matches),
        });
        ModelWriter.Save(merged, r.Output, new Dictionary<string, string> { [MetadataKeys.Refit] = refit });
        var (before, after) = report.MeanRelativeError;
        ctx.Logger.LogInformation("refit {Layers} layers of {Merged} ({Variant}, ridge {Ridge}) over {Images} images → {Output} in {Seconds:0.00} s",
            report.Layers.Count, Path.GetFileName(r.Merged), RefitOptions.Name(r.Options.Variant), r.Options.Ridge.ToString("G", CultureInfo.InvariantCulture), dataset.Count,
            r.Output, clock.Elapsed.TotalSeconds);
        if (r.Json)
            Json.Write(ctx.Out, new
            {
                output = r.Output,
                variant = RefitOptions.Name(r.Options.Variant),
                ridge = r.Options.Ridge,
                images = dataset.Count,
                layers = report.Layers.Count,
                skipped = report.Skipped,
                passes = report.Passes,
                relativeErrorBefore = before,
                relativeErrorAfter = after,
                seconds = clock.Elapsed.TotalSeconds,
            });
        return 0;
    }
}
