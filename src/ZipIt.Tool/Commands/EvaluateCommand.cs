using System.CommandLine;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using TorchSharp;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Data;
using ZipIt.Engine.Evaluate;
using ZipIt.Engine.Merge;
using ZipIt.Engine.Models;
using ZipIt.Engine.Output;
using ZipIt.Engine.ResetBn;
using static TorchSharp.torch;
using ZipIt.Engine.Core;
using ZipIt.Hosting;

namespace ZipIt.Commands;

/// <summary>
/// <c>evaluate MODEL... --data FILE --task a=0-4 --task b=5-9</c>: per-task, joint and average
/// accuracy of each model (single- or multi-head), optionally of the ensemble of the given models,
/// with FLOPs; a versioned JSON report and a Markdown table.
/// </summary>
internal static class EvaluateCommand
{
    public static Command Create(CommandRunner runner)
    {
        var models = new Argument<string[]>("models") { Description = "Checkpoints to evaluate (plain or multi-head), each on its own.", Arity = ArgumentArity.OneOrMore };
        var data = DataOptions.Data("Labelled test images (a dataset spec naming no split reads its test split)");
        var preprocess = DataOptions.Preprocess();
        var images = DataOptions.Images();
        var batchSize = DataOptions.BatchSize();
        var tasks = new Option<string[]>("--task") { Description = "A task as NAME=CLASSES (e.g. a=0-4). Repeatable; head i of a multi-head model answers task i.", Required = true, Arity = ArgumentArity.OneOrMore, HelpName = "NAME=CLASSES" };
        var head = CommonOptions.Choice<HeadKind>("--head", "How outputs are read: logits, or clip (cosine with class embeddings), refused where it contradicts what the models record. [default: as the models record (zipit.head)]");
        var embeddings = new Option<string?>("--class-embeddings") { Description = "A .safetensors file with tensor 'embeddings' [K, D], row c for class c (clip heads). [default: regenerated from the class names the models record (class-name-hash:D)]", HelpName = "FILE" };
        var ensemble = new Option<bool>("--ensemble") { Description = "Also evaluate the given single-head models together as an ensemble (model i answers task i): the usual upper bound." };
        var resetBnData = new Option<string?>("--reset-bn-data")
        {
            Description = "First reset every model's BatchNorm statistics on these images (as --data; a dataset spec naming no split reads its train split), in memory, as merges and reproduce's base rows get (ZipIt! §5).",
            HelpName = "SOURCE",
        };
        var output = new Option<string?>("--output", "-o") { Description = "Write the JSON report here.", HelpName = "FILE" };
        var markdown = new Option<string?>("--markdown") { Description = "Write the Markdown table here.", HelpName = "FILE" };
        var arch = CommonOptions.Arch();
        var json = CommonOptions.Json();
        var command = new Command("evaluate", "Measure per-task, joint and average accuracy (and FLOPs) of models, partial zips and ensembles.")
        {
            models, data, tasks, head, embeddings, ensemble, resetBnData, images, preprocess, batchSize, output, markdown, arch, json, CommonOptions.Device(),
        };
        command.SetAction((parse, ct) => Task.FromResult(runner.Run(parse, ct, ctx => Execute(ctx,
            ctx.Value(models)!, ctx.Value(data)!, ctx.Value(tasks)!, ctx.Value(head), ctx.Value(embeddings), ctx.Value(ensemble),
            ctx.Value(resetBnData), ctx.Value(images), ctx.Value(batchSize), ctx.Value(output), ctx.Value(markdown), ctx.Value(arch), ctx.Value(json), ctx.Value(preprocess)))));
        return command.WithExamples(
            "dotnet zipit evaluate merged/ --data fashion-mnist:test --task a=0-4 --task b=5-9",
            "dotnet zipit evaluate a.safetensors b.safetensors --ensemble --data test.safetensors --task a=0-4 --task b=5-9 --markdown table.md");
    }

    private static int Execute(CommandContext ctx, string[] paths, string dataPath, string[] taskSpecs, HeadKind? askedHead, string? embeddingsPath,
        bool ensemble, string? resetBnPath, long? images, int batchSize, string? output, string? markdown, string? arch, bool json, string[]? preprocess)
    {
        DataOptions.Validate(images, batchSize);
        OutputGuard.RequireDistinct([.. paths.Select(m => new OutputGuard.Named("MODEL", m)), new("--data", dataPath), new("--class-embeddings", embeddingsPath), new("--reset-bn-data", resetBnPath)],
            [new("--output", output), new("--markdown", markdown)]);
        var clock = Stopwatch.StartNew();
        var tasks = EvaluationTask.Parse(taskSpecs);
        var results = new List<EvaluationResult>();
        var counts = new Dictionary<string, long>();
        // Every input is checked before the first forward pass (a BatchNorm reset is one): opening
        // checks the models and the reset images, then the test images and the tasks.
        using var session = MergeSession.Open(ctx.Engine(), new SessionInputs(paths)
        {
            Arch = arch, Merging = false, Data = resetBnPath, DataOption = "--reset-bn-data", Preprocess = preprocess,
        });
        using var dataset = session.LoadData(dataPath, "--data", DataSplit.Test, labelsRequired: true, images);
        CheckLabels(ctx, dataset, dataPath, tasks);
        var loaded = session.Models;
        var resetBn = session.Calibration;
        var reading = ModelHeads.Resolve(loaded, askedHead, embeddingsPath, tasks);
        var head = reading.Head;
        using var embeddings = reading.Embeddings;
        if (askedHead is null && head == HeadKind.Clip)
            ctx.Logger.LogInformation("reading the models' clip heads against {Embeddings} class embeddings", reading.EmbeddingsFrom);
        foreach (var (model, path) in loaded.Zip(paths))
        {
            var outputs = ImageCheck.Require(model, dataset.Images, dataPath);
            if (head == HeadKind.Logits && outputs.Count == 1) RequireClasses(path, outputs[0], tasks, taskSpecs);
        }
        if (ensemble)
        {
            if (loaded.Any(m => m.Layout is not null)) throw ZipItException.Usage("--ensemble combines single-head models");
            if (loaded.Count != tasks.Count) throw ZipItException.Usage($"--ensemble needs one model per task: {loaded.Count} models, {tasks.Count} tasks");
        }
        if (resetBn is not null)
        {
            var layers = loaded.Sum(model => model.Modules.Sum(m => BatchNormReset.Layers(m).Count));
            session.ResetBn(batchSize);
            if (layers == 0)
                ctx.Logger.LogWarning("--reset-bn-data {Data}: no model has BatchNorm layers; nothing was reset", Path.GetFileName(resetBnPath));
            else
                ctx.Logger.LogInformation("reset the BatchNorm statistics of {Count} models on {Images} images of {Data}", loaded.Count, resetBn.Count, Path.GetFileName(resetBnPath));
        }
        foreach (var (model, path) in loaded.Zip(paths))
        {
            try
            {
                results.Add(session.Evaluate(Path.GetFileName(path), model, dataset, batchSize, tasks, head, embeddings, out counts));
            }
            catch (ZipItException e) when (e.Code == ExitCode.Input)
            {
                // The counter knows the outputs and the tasks, not which model and option they came from.
                throw ZipItException.Input($"{Path.GetFileName(path)} with --task {string.Join(" --task ", taskSpecs)}: {e.Message}", e);
            }
        }
        if (ensemble) results.Add(session.EvaluateEnsemble("Ensemble", dataset, batchSize, tasks, head, embeddings, out counts));

        var report = new EvaluationReport(EvaluationReport.CurrentVersion, Path.GetFileName(dataPath), counts.Values.Sum(), head.ToString().ToLowerInvariant(),
            tasks.Select(t => new EvaluationReport.TaskEntry(t.Name, t.Classes, counts[t.Name])).ToList(), results)
        {
            ResetBn = resetBn is null ? null : new EvaluationReport.ResetBnEntry(Path.GetFileName(resetBnPath!), resetBn.Count),
        };
        var reports = new List<(string, Action)>();
        if (output is not null) reports.Add((output, () => AtomicFile.WriteAllText(output, System.Text.Json.JsonSerializer.Serialize(report, Json.Options) + "\n")));
        if (markdown is not null) reports.Add((markdown, () => AtomicFile.WriteAllText(markdown, report.ToMarkdown())));
        AtomicFile.Together(reports);
        if (json) Json.Write(ctx.Out, report);
        else ctx.Out.Write(report.ToMarkdown());
        ctx.Logger.LogInformation("evaluated {Count} models on {Images} images in {Seconds:0.00} s", results.Count, report.Images, clock.Elapsed.TotalSeconds);
        return 0;
    }

    /// <summary>
    /// Images whose label is in no task are not counted: a warning with the count, since a data set
    /// with more classes than the tasks is a normal thing to evaluate on; none in any task is exit 3.
    /// </summary>
    private static void CheckLabels(CommandContext ctx, TensorDataset dataset, string dataPath, IReadOnlyList<EvaluationTask> tasks)
    {
        var classes = tasks.SelectMany(t => t.Classes).ToHashSet();
        var labels = dataset.Labels!.data<long>().ToArray();
        var outside = labels.LongCount(l => !classes.Contains(l));
        if (outside == labels.LongLength)
            throw ZipItException.Input($"{Path.GetFileName(dataPath)}: no label of its {labels.LongLength} images is in any --task (labels {labels.Min()}..{labels.Max()})");
        if (outside > 0)
            ctx.Logger.LogWarning("{Data}: {Outside} of {Count} images have labels outside every --task and are not counted",
                Path.GetFileName(dataPath), outside, labels.LongLength);
    }

    /// <summary>Exit 3 naming the model and the <c>--task</c> when a single-head model has fewer logits than a task's class ids need.</summary>
    private static void RequireClasses(string model, long[] output, IReadOnlyList<EvaluationTask> tasks, IReadOnlyList<string> specs)
    {
        if (output.Length != 2) return;
        for (var t = 0; t < tasks.Count; t++)
        {
            var largest = tasks[t].Classes.Max();
            if (largest >= output[1])
                throw ZipItException.Input(
                    $"{Path.GetFileName(model)} outputs {output[1]} classes (0-{output[1] - 1}), but --task {specs[t]} names class {largest}");
        }
    }
}
