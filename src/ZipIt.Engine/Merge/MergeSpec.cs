using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Core;
using ZipIt.Engine.Data;
using ZipIt.Engine.Evaluate;
using ZipIt.Engine.Matching;
using ZipIt.Engine.Output;
using ZipIt.Engine.Plugins;
using ZipIt.Engine.Refit;
using ZipIt.Engine.Zip;
using static TorchSharp.torch;

namespace ZipIt.Engine.Merge;

/// <summary>
/// A merge recipe resolved and checked before any model is loaded or any forward pass runs: every
/// default filled in (<see cref="MergeRecipe.WithDefaults"/>), the matcher and its settings (preset,
/// flags) found, what it needs (data, weights) known, the evaluation's tasks and head parsed, every
/// file it names present and every output writable. Nothing in it is optional that a merge needs,
/// so a merge built in code (a test, another host) needs no command line. Bad values are usage
/// errors (exit 2), missing files input errors (exit 3).
/// </summary>
internal sealed record MergeSpec
{
    public required IReadOnlyList<string> Models { get; init; }
    /// <summary>An architecture or variant name the models must be (null: recognised from the files).</summary>
    public string? Arch { get; init; }
    /// <summary>Architecture settings the checkpoints do not record (a timm ViT's head count), used to recognise them; empty: none.</summary>
    public IReadOnlyDictionary<string, string> ArchSettings { get; init; } = new Dictionary<string, string>();
    /// <summary>Calibration images; null only for data-free matchers (BatchNorm is then merged as it is).</summary>
    public string? Data { get; init; }
    public long? Images { get; init; }
    /// <summary><c>--preprocess</c> items over the models' own preprocessing (null: theirs).</summary>
    public IReadOnlyList<string>? Preprocess { get; init; }
    public required int BatchSize { get; init; }
    public required bool ResetBn { get; init; }
    public required IMatcher Matcher { get; init; }
    public required MatcherSettings Settings { get; init; }
    public required MatcherInputs Required { get; init; }
    public required IReadOnlyList<string> TapSets { get; init; }
    /// <summary>The stop point as given (<c>13</c>, <c>layer2</c>); null: a full zip.</summary>
    public string? Stop { get; init; }
    public required long Seed { get; init; }
    public required ZipOptions Zip { get; init; }
    /// <summary>A least-squares refit after the zip (before the merged model's BatchNorm reset); null: none.</summary>
    public RefitOptions? Refit { get; init; }
    /// <summary>REPAIR of the merged units no BatchNorm resets, after the zip (before the merged model's BatchNorm reset).</summary>
    public bool Repair { get; init; }
    /// <summary>The checkpoint file to write (a model folder's <c>model.safetensors</c>).</summary>
    public required string Output { get; init; }
    /// <summary>The model folder written (config.json, README.md, the recipe beside the checkpoint); null: a single file.</summary>
    public string? OutputFolder { get; init; }
    public required ScalarType DType { get; init; }
    public required bool Card { get; init; }
    public EvaluationPlan? Evaluation { get; init; }
    /// <summary>The recipe with every default filled in: what is written beside the output and recorded in its metadata.</summary>
    public required MergeRecipe Recipe { get; init; }

    /// <summary>The resolved recipe written beside the output: <c>OUTPUT.recipe.json</c>.</summary>
    public string RecipeFile => RecipeFileFor(Output);

    public static string RecipeFileFor(string output) => output + ".recipe.json";

    /// <param name="Head">How outputs are read; null: as the models record (<c>zipit.head</c>), see <see cref="ModelHeads"/>.</param>
    /// <param name="EmbeddingsFile">A clip head's class embeddings; null: the models' recorded spec.</param>
    public sealed record EvaluationPlan(string Data, IReadOnlyList<EvaluationTask> Tasks, HeadKind? Head, string? EmbeddingsFile);

    /// <summary>The checks of <see cref="MergeRecipe.Resolve"/>; errors name settings as <paramref name="names"/> says.</summary>
    internal static MergeSpec Resolve(MergeRecipe given, PluginCatalog plugins, SettingNames names)
    {
        var recipe = given.WithDefaults();
        if (recipe.Models is not { Length: >= 2 }) throw ZipItException.Usage($"merge needs two or more models ({names["models"]})");
        if (recipe.Output is null) throw ZipItException.Usage($"merge needs an output ({names["output"]})");
        ModelFolder.RequireSafetensorsName(recipe.Output, names["output"]);
        var folder = ModelFolder.IsFolder(recipe.Output) ? Path.GetFullPath(Path.TrimEndingDirectorySeparator(recipe.Output)) : null;
        var output = ModelFolder.CheckpointPath(recipe.Output);
        if (recipe.BatchSize is not { } batch || batch < 1) throw ZipItException.Usage($"{names["batch_size"]} must be at least 1, got {recipe.BatchSize}");
        if (recipe.Images is { } images && images < 1) throw ZipItException.Usage($"{names["images"]} must be at least 1, got {images}");
        var dtype = StorageDType.Parse(recipe.DType) ?? ScalarType.Float32;
        var matcher = plugins.Matcher(recipe.Matcher!);
        var values = new Dictionary<string, string>(recipe.Settings ?? [], StringComparer.OrdinalIgnoreCase);
        foreach (var (k, v) in MatcherFlags.Values(recipe.Alpha, recipe.Beta, [])) values[k] = v;
        var settings = MatchStage.Settings(matcher, values, recipe.Preset);
        var required = MatchStage.RequiredInputs(matcher, settings);
        // A data-free matcher (average, mudsc with balance=1) needs no data; then BatchNorm is not reset.
        if (recipe.Data is null && required.HasFlag(MatcherInputs.Activations))
            throw ZipItException.Usage($"merge needs calibration data ({names["data"]}): matcher {matcher.Name} uses activations with these settings");

        RefitOptions? refit = null;
        if (recipe.Refit is { } variant)
        {
            refit = new RefitOptions(RefitOptions.ParseVariant(variant, names["refit"]), RefitOptions.RequireRidge(recipe.RefitRidge ?? RefitOptions.DefaultRidge, names["refit_ridge"]));
            if (recipe.Data is null) throw ZipItException.Usage($"a refit needs calibration data ({names["data"]})");
        }
        else if (recipe.RefitRidge is not null) throw ZipItException.Usage($"{names["refit_ridge"]} is the refit's: give {names["refit"]} too");
        if (recipe.Repair is true && recipe.Data is null) throw ZipItException.Usage($"a repair needs calibration data ({names["data"]})");

        EvaluationPlan? evaluation = null;
        if (recipe.Evaluate is { } e)
        {
            if (e.Data is null || e.Tasks is null) throw ZipItException.Usage($"evaluation needs both data ({names["evaluate.data"]}) and tasks ({names["evaluate.tasks"]})");
            HeadKind? head = null;
            if (e.Head is not null)
                head = Enum.TryParse<HeadKind>(e.Head, ignoreCase: true, out var h) ? h : throw ZipItException.Usage($"{names["evaluate.head"]} {e.Head}: expected logits or clip");
            evaluation = new EvaluationPlan(e.Data, EvaluationTask.Parse(e.Tasks), head, e.ClassEmbeddings);
        }

        foreach (var (key, path) in recipe.Models.Select(m => ("models", (string?)m)).Append(("evaluate.class_embeddings", evaluation?.EmbeddingsFile)))
            if (path is not null && !File.Exists(path) && !Directory.Exists(path))
                throw ZipItException.Input($"{names[key]} {path}: no such file");
        // Data is a tensor file, a dataset spec or an image folder: each is checked for what it is.
        foreach (var (key, text) in new[] { ("data", recipe.Data), ("evaluate.data", evaluation?.Data) })
            if (text is not null) DataSource.Parse(text, names[key]);
        // Outputs: never an input, and their folder writable, before any work.
        OutputGuard.RequireDistinct(
            [.. recipe.Models.Select(m => new OutputGuard.Named(names["models"], m)), new(names["data"], recipe.Data), new(names["evaluate.data"], evaluation?.Data),
             new(names["evaluate.class_embeddings"], evaluation?.EmbeddingsFile)],
            [new(names["output"], output), new($"the recipe beside {names["output"]}", RecipeFileFor(output)),
             new($"the model card beside {names["output"]}", recipe.Card is false ? null : ModelCard.PathFor(output)),
             new($"the config.json in {names["output"]}", folder is null ? null : Path.Combine(folder, ModelFolder.ConfigFile))]);
        OutputGuard.RequireWritable(names["output"], output);
        if (recipe.Card is not false) ModelCard.RequireReplaceable(ModelCard.PathFor(output));
        return new MergeSpec
        {
            Models = recipe.Models,
            Arch = recipe.Arch,
            ArchSettings = recipe.ArchSettings ?? new Dictionary<string, string>(),
            Data = recipe.Data,
            Images = recipe.Images,
            Preprocess = recipe.Preprocess,
            BatchSize = batch,
            ResetBn = recipe.ResetBn!.Value,
            Matcher = matcher,
            Settings = settings,
            Required = required,
            TapSets = recipe.TapSets ?? [],
            Stop = recipe.Stop,
            Seed = recipe.Seed!.Value,
            Zip = new ZipOptions(recipe.SquaredRunningVar ?? false),
            Refit = refit,
            Repair = recipe.Repair is true,
            Output = output,
            OutputFolder = folder,
            DType = dtype,
            Card = recipe.Card!.Value,
            Evaluation = evaluation,
            Recipe = recipe,
        };
    }
}
