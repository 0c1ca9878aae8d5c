using System.Text.Json;
using System.Text.Json.Serialization;
using ZipIt.Engine.Output;
using ZipIt.Engine.Core;
using ZipIt.Engine.Matching;
using ZipIt.Engine.Plugins;

namespace ZipIt.Engine.Merge;

/// <summary>
/// Everything <c>merge</c> does, as JSON: every flag has a key (camelCase), flags override the
/// file, relative paths are relative to the recipe's folder, and the resolved recipe is written
/// beside the output (as mergekit keeps its config with the merged model).
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
    [JsonConverter(typeof(SettingValuesConverter))]
    public Dictionary<string, string>? Settings { get; init; }
    public string? Stop { get; init; }
    public long? Seed { get; init; }
    public string? Output { get; init; }
    /// <summary>The merged checkpoint's float type: f32 (default), f16 or bf16.</summary>
    [JsonPropertyName("dtype")]
    public string? DType { get; init; }
    /// <summary>Whether the model card is written beside the output (default true).</summary>
    public bool? Card { get; init; }
    public string? Arch { get; init; }
    /// <summary>Merge BatchNorm running variances with the squared merge matrix (default false: the reference code's plain one).</summary>
    public bool? SquaredRunningVar { get; init; }
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

    private static readonly JsonSerializerOptions Options = new(Json.Options)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { },
    };

    public static MergeRecipe Load(string path)
    {
        if (!File.Exists(path)) throw ZipItException.Input($"{path}: recipe file not found");
        SpecialFiles.RequireRegular(path, path);
        MergeRecipe? recipe;
        try
        {
            recipe = JsonSerializer.Deserialize<MergeRecipe>(File.ReadAllText(path), Options);
        }
        catch (JsonException e)
        {
            throw ZipItException.Usage($"{Path.GetFileName(path)}: not a valid recipe: {Messages.OneLine(e.Message)}");
        }
        if (recipe is null) throw ZipItException.Usage($"{Path.GetFileName(path)}: the recipe is empty");
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string? Resolve(string? p)
        {
            if (p is null) return null;
            try { return Path.GetFullPath(Path.Combine(dir, p)); }
            catch (ArgumentException) { throw ZipItException.Usage($"{Path.GetFileName(path)}: '{p.Replace("\0", "\\0")}' is not a valid path"); }
        }
        // A data value is a path only when it names a file or folder beside the recipe; a dataset spec stays as written.
        string? ResolveData(string? p) => Resolve(p) is { } full && (File.Exists(full) || Directory.Exists(full)) ? full : p;
        return recipe with
        {
            Models = recipe.Models?.Select(m => Resolve(m)!).ToArray(),
            Data = ResolveData(recipe.Data),
            Output = Resolve(recipe.Output),
            Evaluate = recipe.Evaluate is null ? null : recipe.Evaluate with
            {
                Data = ResolveData(recipe.Evaluate.Data),
                ClassEmbeddings = Resolve(recipe.Evaluate.ClassEmbeddings),
            },
        };
    }

    public string ToJson() => JsonSerializer.Serialize(this, Options) + "\n";
}
