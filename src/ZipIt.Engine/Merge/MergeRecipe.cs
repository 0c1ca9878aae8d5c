using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using ZipIt.Engine.Core;
using ZipIt.Engine.Matching;
using ZipIt.Engine.Plugins;
using ZipIt.Engine.Refit;

namespace ZipIt.Engine.Merge;

/// <summary>
/// Everything <c>merge</c> does, as a YAML or JSON file (docs/recipes.md): every flag has a
/// snake_case key (<c>batch_size</c>; earlier recipes' camelCase keys are read too), flags override
/// the file, relative paths are relative to the recipe's folder, and the resolved recipe is written
/// beside the output with paths relative to its folder (as mergekit keeps its config with the
/// merged model), so it reproduces the merge from wherever it is run.
/// </summary>
internal sealed record MergeRecipe
{
    public string[]? Models { get; init; }
    public string? Data { get; init; }
    public long? Images { get; init; }
    /// <summary>How datasets and image folders become model inputs, over the models' own: a preset (imagenet) or KEY=VALUE items.</summary>
    public string[]? Preprocess { get; init; }
    public int? BatchSize { get; init; }
    public bool? ResetBn { get; init; }
    public string? Matcher { get; init; }
    public string? Preset { get; init; }
    public string[]? TapSets { get; init; }
    public double? Alpha { get; init; }
    public double? Beta { get; init; }
    public Dictionary<string, string>? Settings { get; init; }
    public string? Stop { get; init; }
    public long? Seed { get; init; }
    public string? Output { get; init; }
    /// <summary>The merged checkpoint's float type: f32 (default), f16 or bf16.</summary>
    public string? DType { get; init; }
    /// <summary>Whether the model card is written beside the output (default true).</summary>
    public bool? Card { get; init; }
    /// <summary>An architecture or variant name the models must be (null: recognised from the files).</summary>
    public string? Arch { get; init; }
    /// <summary>Architecture settings the checkpoints do not record (<c>--arch-set heads=3</c> for a timm ViT), used to recognise them.</summary>
    public Dictionary<string, string>? ArchSettings { get; init; }
    /// <summary>Merge BatchNorm running variances with the squared merge matrix (default false: the reference code's plain one).</summary>
    public bool? SquaredRunningVar { get; init; }
    /// <summary>A least-squares refit of the zipped layers: <c>teacher</c> or <c>sequential</c> (null: none).</summary>
    public string? Refit { get; init; }
    /// <summary>The refit's relative ridge λ (default <see cref="RefitOptions.DefaultRidge"/> when <see cref="Refit"/> is set).</summary>
    public double? RefitRidge { get; init; }
    /// <summary>REPAIR of the merged units no BatchNorm resets (null or false: none).</summary>
    public bool? Repair { get; init; }
    public EvaluationRecipe? Evaluate { get; init; }

    /// <summary>The defaults of every key a merge cannot do without; the one place they are decided.</summary>
    public MergeRecipe WithDefaults() => this with
    {
        BatchSize = BatchSize ?? 100,
        ResetBn = ResetBn ?? true,
        Matcher = Matcher ?? ZipItMatcher.MatcherName,
        Settings = Settings ?? new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase),
        Seed = Seed ?? 0,
        DType = DType ?? "f32",
        Card = Card ?? true,
        RefitRidge = Refit is null ? RefitRidge : RefitRidge ?? RefitOptions.DefaultRidge,
    };

    /// <summary>
    /// This recipe with its defaults, checked and resolved (matcher, settings, evaluation, files) into
    /// what a merge runs on. Errors name keys as <paramref name="names"/> says (default: the recipe's keys).
    /// </summary>
    public MergeSpec Resolve(PluginCatalog plugins, SettingNames? names = null) => MergeSpec.Resolve(this, plugins, names ?? SettingNames.RecipeKeys);

    public sealed record EvaluationRecipe
    {
        public string? Data { get; init; }
        public string[]? Tasks { get; init; }
        public string? Head { get; init; }
        public string? ClassEmbeddings { get; init; }
    }

    /// <summary>
    /// The recipe in <paramref name="path"/> (YAML or JSON: <see cref="RecipeSyntax.FormatOf"/>), its
    /// paths resolved against the file's folder. A missing or unreadable file is an input error
    /// (exit 3); anything wrong inside it a usage error (exit 2) naming the file, line and column.
    /// </summary>
    public static MergeRecipe Load(string path)
    {
        if (!File.Exists(path)) throw ZipItException.Input($"{path}: recipe file not found");
        SpecialFiles.RequireRegular(path, path);
        string text;
        try
        {
            if (new FileInfo(path).Length > RecipeSyntax.MaxBytes) throw RecipeSyntax.TooLarge(path);
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw ZipItException.Input($"{path}: cannot read the recipe ({Messages.OneLine(e.Message)})", e);
        }
        var root = RecipeSyntax.Parse(path, text, RecipeSyntax.FormatOf(path, text)) ?? throw ZipItException.Usage($"{path}: the recipe is empty");
        var recipe = RecipeBinder.Bind(root, path);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string? Full(string? p)
        {
            if (p is null) return null;
            try { return Path.GetFullPath(Path.Combine(folder, p)); }
            catch (ArgumentException) { throw ZipItException.Usage($"{path}: '{p.Replace("\0", "\\0")}' is not a valid path"); }
        }
        string? FullData(string? p)
        {
            try { return DataPath(p, folder); }
            catch (ArgumentException) { throw ZipItException.Usage($"{path}: '{p!.Replace("\0", "\\0")}' is not a valid path"); }
        }
        return recipe with
        {
            Models = recipe.Models?.Select(m => Full(m)!).ToArray(),
            Data = FullData(recipe.Data),
            Output = Full(recipe.Output),
            Evaluate = recipe.Evaluate is null ? null : recipe.Evaluate with
            {
                Data = FullData(recipe.Evaluate.Data),
                ClassEmbeddings = Full(recipe.Evaluate.ClassEmbeddings),
            },
        };
    }

    /// <summary>
    /// A data value (<c>data</c>, <c>evaluate.data</c>) as a full path, resolved against
    /// <paramref name="folder"/>, when it is one: it names a file or folder there, or it is a
    /// <c>.safetensors</c> file name. Anything else (a data set such as <c>mnist:test</c>) is kept as
    /// written. Throws <see cref="ArgumentException"/> for a value no path can be.
    /// </summary>
    public static string? DataPath(string? value, string folder)
    {
        if (value is null) return null;
        var full = Path.GetFullPath(Path.Combine(folder, value));
        return IsPath(value, full) ? full : value;
    }

    private static bool IsPath(string value, string full) =>
        File.Exists(full) || Directory.Exists(full) || value.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// This recipe with its paths relative to <paramref name="folder"/> (data values only where they
    /// are paths: <see cref="DataPath"/>): what is written beside the output, so that it reproduces
    /// the merge wherever the folders are moved together.
    /// </summary>
    public MergeRecipe RelativeTo(string folder)
    {
        folder = Path.GetFullPath(folder);
        string? Relative(string? p) => p is null ? null : Path.GetRelativePath(folder, Path.GetFullPath(p));
        string? RelativeData(string? p)
        {
            if (p is null) return null;
            string full;
            try { full = Path.GetFullPath(p); }
            catch (ArgumentException) { return p; }
            return IsPath(p, full) ? Path.GetRelativePath(folder, full) : p;
        }
        return this with
        {
            Models = Models?.Select(m => Relative(m)!).ToArray(),
            Data = RelativeData(Data),
            Output = Relative(Output),
            Evaluate = Evaluate is null ? null : Evaluate with
            {
                Data = RelativeData(Evaluate.Data),
                ClassEmbeddings = Relative(Evaluate.ClassEmbeddings),
            },
        };
    }

    /// <summary>The recipe written beside <paramref name="output"/> and into its metadata: paths relative to the output's folder.</summary>
    public MergeRecipe Portable(string output) => RelativeTo(Path.GetDirectoryName(Path.GetFullPath(output))!);

    /// <summary>The recipe as JSON with snake_case keys (<see cref="RecipeBinder.Keys"/>' order), numbers as numbers; keys without a value are left out.</summary>
    public string ToJson(bool indented = true)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented, NewLine = "\n", Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            List("models", Models);
            Text("arch", Arch);
            Values("arch_settings", ArchSettings);
            Text("data", Data);
            if (Images is { } images) w.WriteNumber("images", images);
            if (BatchSize is { } batch) w.WriteNumber("batch_size", batch);
            if (ResetBn is { } reset) w.WriteBoolean("reset_bn", reset);
            Text("matcher", Matcher);
            Text("preset", Preset);
            if (Alpha is { } alpha) w.WriteNumber("alpha", alpha);
            if (Beta is { } beta) w.WriteNumber("beta", beta);
            Values("settings", Settings);
            List("tap_sets", TapSets);
            if (Stop is { } stop)
            {
                if (stop.Length is > 0 and < 10 && stop.All(char.IsAsciiDigit)) w.WriteNumber("stop", long.Parse(stop, CultureInfo.InvariantCulture));
                else w.WriteString("stop", stop);
            }
            if (Seed is { } seed) w.WriteNumber("seed", seed);
            if (SquaredRunningVar is { } squared) w.WriteBoolean("squared_running_var", squared);
            Text("refit", Refit);
            if (RefitRidge is { } ridge) w.WriteNumber("refit_ridge", ridge);
            Text("output", Output);
            Text("dtype", DType);
            if (Card is { } card) w.WriteBoolean("card", card);
            if (Repair is { } repair) w.WriteBoolean("repair", repair);
            if (Evaluate is { } e)
            {
                w.WriteStartObject("evaluate");
                Text("data", e.Data);
                List("tasks", e.Tasks);
                Text("head", e.Head);
                Text("class_embeddings", e.ClassEmbeddings);
                w.WriteEndObject();
            }
            w.WriteEndObject();

            void Text(string key, string? value)
            {
                if (value is not null) w.WriteString(key, value);
            }
            void List(string key, string[]? values)
            {
                if (values is null) return;
                w.WriteStartArray(key);
                foreach (var v in values) w.WriteStringValue(v);
                w.WriteEndArray();
            }
            void Values(string key, Dictionary<string, string>? values)
            {
                if (values is null) return;
                w.WriteStartObject(key);
                foreach (var (k, v) in values) w.WriteString(k, v);
                w.WriteEndObject();
            }
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + (indented ? "\n" : "");
    }
}
