using System.Globalization;
using System.Reflection;
using System.Text;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Core;
using ZipIt.Engine.Evaluate;
using ZipIt.Engine.Output;
using ZipIt.Engine.Refit;

namespace ZipIt.Engine.Merge;

/// <summary>
/// The model card <c>merge</c> writes beside its checkpoint, as mergekit writes a README.md into its
/// output folder: the models merged (file, task, SHA-256), architecture, method and matcher
/// settings, stop point, calibration data, BatchNorm resets, storage type, accuracies and FLOPs when
/// evaluated, the zipit version and the command that reproduces it. Nothing in it depends on the
/// clock or the machine beyond what the command line itself names, so identical inputs give an
/// identical card.
/// </summary>
internal sealed record ModelCard
{
    /// <summary>The line that marks a card as zipit's: only such a file is ever replaced.</summary>
    public const string Marker = "<!-- Written by zipit merge; the next merge to the same output replaces this file. -->";

    public sealed record Calibration(string File, long Images, int BatchSize);

    public sealed record Evaluated(string File, long Images, string Head, IReadOnlyList<EvaluationTask> Tasks, EvaluationResult Result);

    public required string Name { get; init; }
    public required string Version { get; init; }
    public required IReadOnlyList<MergeOutcome.Source> Models { get; init; }
    public required ArchitectureConfig Architecture { get; init; }
    public required string Matcher { get; init; }
    public string? Preset { get; init; }
    public required IReadOnlyDictionary<string, string> Settings { get; init; }
    public IReadOnlyList<string> TapSets { get; init; } = [];
    public required string StopLabel { get; init; }
    public required bool Partial { get; init; }
    public required long Seed { get; init; }
    public Calibration? Data { get; init; }
    public required bool ResetBaseBn { get; init; }
    /// <summary>How the zipped layers were refit by least squares (<c>merge --refit</c>), or null for none.</summary>
    public RefitOptions? Refit { get; init; }
    /// <summary>Whether REPAIR corrected the merged units no BatchNorm resets (<c>--repair</c>).</summary>
    public bool Repair { get; init; }
    public required string DType { get; init; }
    public Evaluated? Evaluation { get; init; }
    public required string Command { get; init; }
    public required string RecipeFile { get; init; }

    /// <summary>The output folder's name (the model's name when the checkpoint is <c>model.safetensors</c>).</summary>
    public string? FolderName { get; init; }

    /// <summary>
    /// The card's path for the checkpoint <paramref name="output"/>: <c>README.md</c> beside a
    /// Hugging Face-style <c>model.safetensors</c> (the folder is the model, as mergekit's output
    /// folder), otherwise <c>NAME.README.md</c> beside <c>NAME.safetensors</c>, so merges that share a
    /// folder do not overwrite each other's cards.
    /// </summary>
    public static string PathFor(string output)
    {
        var full = Path.GetFullPath(output);
        var folder = Path.GetDirectoryName(full)!;
        var file = Path.GetFileName(full);
        return Path.Combine(folder, file == Checkpoint.SingleFileName ? "README.md" : Path.GetFileNameWithoutExtension(file) + ".README.md");
    }

    /// <summary>Exit 2 before any work when <paramref name="path"/> is a file zipit did not write (a project's own README).</summary>
    public static void RequireReplaceable(string path)
    {
        if (Directory.Exists(path)) throw ZipItException.Usage($"the model card {path} is a folder; choose another --output or --no-card");
        if (!File.Exists(path)) return;
        string head;
        try
        {
            using var reader = new StreamReader(path);
            var buffer = new char[4096];
            head = new string(buffer, 0, reader.ReadBlock(buffer, 0, buffer.Length));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw ZipItException.Resource($"the model card {path}: cannot read it to check it is zipit's ({Messages.OneLine(e.Message)})", e);
        }
        if (!head.Contains(Marker, StringComparison.Ordinal))
            throw ZipItException.Usage($"{path} exists and was not written by zipit; zipit never replaces it: choose another --output, or --no-card");
    }

    /// <summary>The card of a finished merge.</summary>
    public static ModelCard For(MergeOutcome outcome, string command)
    {
        var spec = outcome.Spec;
        return new()
        {
            Name = Path.GetFileName(spec.Output),
            Version = ToolVersion(),
            Models = outcome.Sources,
            Architecture = outcome.Config,
            Matcher = outcome.Matcher.Name,
            Preset = spec.Recipe.Preset,
            Settings = outcome.Settings.Effective,
            TapSets = spec.TapSets,
            StopLabel = outcome.StopLabel,
            Partial = outcome.Partial,
            Seed = spec.Seed,
            Data = spec.Data is { } data && outcome.CalibrationImages is { } images ? new Calibration(Path.GetFileName(data), images, spec.BatchSize) : null,
            ResetBaseBn = spec.ResetBn,
            Refit = spec.Refit,
            Repair = spec.Repair,
            DType = StorageDType.Name(spec.DType),
            Evaluation = spec.Evaluation is { } e && outcome.Evaluation is { } result && outcome.EvaluationImages is { } n
                ? new Evaluated(Path.GetFileName(e.Data), n, (e.Head ?? HeadKind.Logits).ToString().ToLowerInvariant(), e.Tasks, result)
                : null,
            Command = command,
            RecipeFile = Path.GetFileName(spec.RecipeFile),
            FolderName = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(spec.Output))),
        };
    }

    /// <summary>zipit's version without the source revision.</summary>
    public static string ToolVersion() =>
        typeof(ModelCard).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "unknown";

    /// <summary>A YAML scalar: plain where that reads the same, quoted otherwise.</summary>
    private static string Yaml(string text) =>
        text.Length > 0 && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '/') && !char.IsAsciiDigit(text[0]) && text[0] is not ('-' or '.')
            ? text : "\"" + text.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    public string ToMarkdown()
    {
        var s = new StringBuilder();
        s.Append("---\nlibrary_name: zipit\ntags:\n- zipit\n- model-merging\n- ").Append(Architecture.Architecture).Append('\n');
        s.Append("base_model:\n");
        foreach (var m in Models) s.Append("- ").Append(Yaml(m.File)).Append('\n');
        s.Append("---\n");
        s.Append(Marker).Append("\n\n");
        s.Append("# ").Append(Title(Name)).Append("\n\n");
        s.Append(Inv($"A merge of {Models.Count} models made with zipit {Version}, without retraining.\n\n"));

        s.Append("## Models merged\n\n| # | Model | Task | SHA-256 |\n|---:|---|---|---|\n");
        for (var i = 0; i < Models.Count; i++)
            s.Append(Inv($"| {i} | {Cell(Models[i].File)} | {Cell(Models[i].Task ?? "–")} | `{Models[i].Sha256}` |\n"));
        s.Append('\n');

        s.Append("## Merge details\n\n| | |\n|---|---|\n");
        Row(s, "Architecture", $"{Architecture.Architecture}, variant {Architecture.Variant}" + Listed(Architecture.Settings));
        Row(s, "Method", $"matcher {Matcher}" + (Preset is null ? "" : $", preset {Preset}"));
        Row(s, "Matcher settings", Settings.Count == 0 ? "none" : string.Join(", ", Settings.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}")));
        if (TapSets.Count > 0) Row(s, "Tap sets", string.Join(", ", TapSets));
        Row(s, "Stop point", $"ZipIt!{StopLabel}" + (Partial ? $" (partial zip: a merged trunk and {Models.Count} heads)" : " (full zip: one model)"));
        Row(s, "Seed", Seed.ToString(CultureInfo.InvariantCulture));
        Row(s, "Calibration data", Data is { } d ? Inv($"{d.File}, {d.Images} images, batches of {d.BatchSize}") : "none (a data-free matcher)");
        if (Refit is { } refit)
            Row(s, "Refit", Inv($"every zipped conv and linear layer re-solved by least squares on the calibration data ({RefitOptions.Name(refit.Variant)} inputs, ridge {refit.Ridge.ToString("G", CultureInfo.InvariantCulture)}), before the merged model's BatchNorm reset"));
        Row(s, "BatchNorm reset", Data is null
            ? "none: no calibration data, BatchNorm statistics merged as they are"
            : (ResetBaseBn ? "the base models before collecting (--reset-bn true)" : "not the base models (--reset-bn false)")
              + "; the merged model after zipping, on the calibration data");
        if (Repair) Row(s, "REPAIR", "after the zip (and the refit, if any), each merged unit no BatchNorm resets given its matched base units' mean and standard deviation on the calibration data (--repair)");
        Row(s, "Stored as", DType + (DType == "f32" ? "" : " (floating-point tensors; integer ones keep their type)"));
        s.Append('\n');

        if (Evaluation is { } e)
        {
            s.Append("## Evaluation\n\n");
            s.Append(Inv($"On {Cell(e.File)} ({e.Images} images, {e.Head} head), tasks {string.Join(", ", e.Tasks.Select(t => $"{t.Name}={Classes(t.Classes)}"))}; "));
            s.Append(DType == "f32" ? "weights as stored (f32).\n\n" : $"weights as stored (rounded to {DType}), computed in float32.\n\n");
            s.Append("| Joint | ").Append(string.Join(" | ", e.Tasks.Select(t => $"Task {Cell(t.Name)}"))).Append(" | Avg | FLOPs |\n");
            s.Append("|---:|").Append(string.Concat(e.Tasks.Select(_ => "---:|"))).Append("---:|---:|\n");
            s.Append("| ").Append(Format.Percent(e.Result.Joint)).Append(" | ")
                .Append(string.Join(" | ", e.Tasks.Select(t => Format.Percent(e.Result.Tasks.GetValueOrDefault(t.Name, double.NaN))))).Append(" | ")
                .Append(Format.Percent(e.Result.Avg)).Append(" | ").Append(Format.Macs(e.Result.Flops)).Append(" |\n\n");
            s.Append("Accuracies in percent; FLOPs are multiply-accumulates per image.\n\n");
        }

        s.Append("## Reproduce\n\nThe command that made it, in the folder it was run in:\n\n```sh\n").Append(Command).Append("\n```\n\n");
        s.Append(Inv($"or, in this folder, from the resolved recipe written beside {Cell(Name)} (its paths are relative to this folder):\n\n```sh\n"))
            .Append(ToolIdentity.Command).Append(" merge ").Append(Shell.Quote(RecipeFile)).Append("\n```\n");
        return s.ToString();
    }

    /// <summary>The model's name: the checkpoint's name without extension, or the folder's for a Hugging Face-style <c>model.safetensors</c>.</summary>
    private string Title(string file) => file == Checkpoint.SingleFileName && FolderName is { Length: > 0 } folder ? folder : Path.GetFileNameWithoutExtension(file);

    private static void Row(StringBuilder s, string name, string value) => s.Append("| ").Append(name).Append(" | ").Append(Cell(value)).Append(" |\n");

    private static string Listed(IReadOnlyDictionary<string, string> settings) =>
        settings.Count == 0 ? "" : " (" + string.Join(", ", settings.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}")) + ")";

    private static string Classes(IReadOnlyList<long> classes) =>
        classes.Count > 1 && classes[^1] - classes[0] == classes.Count - 1 && classes.Zip(classes.Skip(1)).All(p => p.Second == p.First + 1)
            ? Inv($"{classes[0]}-{classes[^1]}")
            : string.Join(",", classes.Select(c => c.ToString(CultureInfo.InvariantCulture)));

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
