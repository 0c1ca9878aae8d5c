using System.Globalization;
using System.Text;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Merge;

/// <summary>
/// Turns a parsed recipe (<see cref="RecipeSyntax"/>) into a <see cref="MergeRecipe"/>: keys are
/// snake_case (<c>batch_size</c>, <c>evaluate.class_embeddings</c>), the camelCase keys of earlier
/// recipes (<c>batchSize</c>) and <c>eval</c> for <c>evaluate</c> are read as the same keys, and a
/// null value is a key not given. Every refusal is one usage error naming the file, line and
/// column, the key and what it must be.
/// </summary>
internal static class RecipeBinder
{
    /// <summary>The recipe's keys, in the order zipit writes them.</summary>
    public static readonly string[] Keys =
    [
        "models", "arch", "arch_settings", "data", "images", "preprocess", "batch_size", "reset_bn", "matcher", "preset", "alpha", "beta",
        "settings", "tap_sets", "stop", "seed", "squared_running_var", "refit", "refit_ridge", "output", "dtype", "card", "repair", "evaluate",
    ];

    /// <summary>The keys of <c>evaluate</c>.</summary>
    public static readonly string[] EvaluateKeys = ["data", "tasks", "head", "class_embeddings"];

    /// <summary>Other spellings read as the keys they stand for, without a warning (earlier recipes are camelCase).</summary>
    private static readonly Dictionary<string, string> Aliases = new(StringComparer.Ordinal)
    {
        ["batchSize"] = "batch_size", ["resetBn"] = "reset_bn", ["tapSets"] = "tap_sets", ["squaredRunningVar"] = "squared_running_var",
        ["archSettings"] = "arch_settings", ["eval"] = "evaluate", ["refitRidge"] = "refit_ridge",
    };

    private static readonly Dictionary<string, string> EvaluateAliases = new(StringComparer.Ordinal) { ["classEmbeddings"] = "class_embeddings" };

    /// <summary>What a key that is not a recipe key may have meant (the flag it looks like, a key of another level).</summary>
    private static readonly Dictionary<string, string> Hints = new(StringComparer.Ordinal)
    {
        ["set"] = "settings", ["arch_set"] = "arch_settings", ["tap_set"] = "tap_sets", ["no_card"] = "card: false",
        ["no_write_model_card"] = "card: false", ["o"] = "output", ["model"] = "models", ["eval_data"] = "evaluate.data",
        ["task"] = "evaluate.tasks", ["tasks"] = "evaluate.tasks", ["head"] = "evaluate.head", ["class_embeddings"] = "evaluate.class_embeddings",
        ["calibration"] = "data", ["method"] = "matcher", ["dtype_out"] = "dtype", ["out"] = "output",
    };

    public static MergeRecipe Bind(RecipeNode root, string file)
    {
        var map = root as RecipeMap
                  ?? throw Error(file, root, $"a recipe is a mapping of keys ({string.Join(", ", Keys)}), not {root.Describe()}");
        var recipe = new MergeRecipe();
        foreach (var (key, name, value) in Entries(file, map, "", Keys, Aliases))
        {
            if (value is RecipeScalar { Kind: ScalarKind.Null }) continue;
            recipe = key switch
            {
                "models" => recipe with { Models = TextList(file, value, name) },
                "arch" => recipe with { Arch = Text(file, value, name) },
                "arch_settings" => recipe with { ArchSettings = Values(file, value, name) },
                "data" => recipe with { Data = Text(file, value, name) },
                "images" => recipe with { Images = Whole(file, value, name, long.MinValue, long.MaxValue) },
                "preprocess" => recipe with { Preprocess = TextList(file, value, name) },
                "batch_size" => recipe with { BatchSize = (int)Whole(file, value, name, int.MinValue, int.MaxValue) },
                "reset_bn" => recipe with { ResetBn = Bool(file, value, name) },
                "matcher" => recipe with { Matcher = Text(file, value, name) },
                "preset" => recipe with { Preset = Text(file, value, name) },
                "alpha" => recipe with { Alpha = Number(file, value, name) },
                "beta" => recipe with { Beta = Number(file, value, name) },
                "settings" => recipe with { Settings = Values(file, value, name) },
                "tap_sets" => recipe with { TapSets = TextList(file, value, name) },
                "stop" => recipe with { Stop = Stop(file, value, name) },
                "seed" => recipe with { Seed = Whole(file, value, name, long.MinValue, long.MaxValue) },
                "squared_running_var" => recipe with { SquaredRunningVar = Bool(file, value, name) },
                "refit" => recipe with { Refit = Text(file, value, name) },
                "refit_ridge" => recipe with { RefitRidge = Number(file, value, name) },
                "output" => recipe with { Output = Text(file, value, name) },
                "dtype" => recipe with { DType = Text(file, value, name) },
                "card" => recipe with { Card = Bool(file, value, name) },
                "repair" => recipe with { Repair = Bool(file, value, name) },
                "evaluate" => recipe with { Evaluate = Evaluation(file, value, name) },
                _ => throw new InvalidOperationException($"recipe key {key} has no binding"),
            };
        }
        return recipe;
    }

    private static MergeRecipe.EvaluationRecipe Evaluation(string file, RecipeNode node, string name)
    {
        var map = node as RecipeMap ?? throw Error(file, node, $"'{name}' must be a mapping of keys ({string.Join(", ", EvaluateKeys)}), got {node.Describe()}");
        var evaluation = new MergeRecipe.EvaluationRecipe();
        foreach (var (key, inner, value) in Entries(file, map, name + ".", EvaluateKeys, EvaluateAliases))
        {
            if (value is RecipeScalar { Kind: ScalarKind.Null }) continue;
            evaluation = key switch
            {
                "data" => evaluation with { Data = Text(file, value, inner) },
                "tasks" => evaluation with { Tasks = Tasks(file, value, inner) },
                "head" => evaluation with { Head = Text(file, value, inner) },
                "class_embeddings" => evaluation with { ClassEmbeddings = Text(file, value, inner) },
                _ => throw new InvalidOperationException($"recipe key {key} has no binding"),
            };
        }
        return evaluation;
    }

    /// <summary>The entries of <paramref name="map"/> as (key, the key as written with its prefix, value); unknown and repeated keys are refused.</summary>
    private static IEnumerable<(string Key, string Name, RecipeNode Value)> Entries(string file, RecipeMap map, string prefix, string[] keys,
        IReadOnlyDictionary<string, string> aliases)
    {
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, value) in map.Entries)
        {
            var key = keys.Contains(k.Text, StringComparer.Ordinal) ? k.Text : aliases.GetValueOrDefault(k.Text);
            if (key is null)
            {
                var hint = Suggest(k.Text, keys, prefix);
                throw Error(file, k, $"unknown key '{prefix}{Printable(k.Text)}'{(hint is null ? "" : $" (did you mean '{hint}'?)")}; " +
                                     $"the keys{(prefix.Length == 0 ? "" : $" of {prefix.TrimEnd('.')}")} are {string.Join(", ", keys)}");
            }
            if (seen.TryGetValue(key, out var first))
                throw Error(file, k, $"'{prefix}{k.Text}' is given twice" + (first == k.Text ? "" : $" (also as '{prefix}{first}')"));
            seen[key] = k.Text;
            yield return (key, prefix + k.Text, value);
        }
    }

    /// <summary>The key <paramref name="written"/> probably meant: the same letters in another style (<c>batch-size</c>, <c>BatchSize</c>), or a flag's key.</summary>
    private static string? Suggest(string written, string[] keys, string prefix)
    {
        var snake = Snake(written);
        if (keys.Contains(snake, StringComparer.Ordinal)) return prefix + snake;
        var letters = Letters(written);
        if (keys.FirstOrDefault(k => Letters(k) == letters) is { } same) return prefix + same;
        if (prefix.Length == 0 && Hints.TryGetValue(snake, out var hint)) return hint;
        if (prefix.Length > 0 && Keys.Contains(snake, StringComparer.Ordinal)) return snake;
        // A typing slip: one edit away (two for longer keys), a swap of neighbours counting as one.
        var close = keys.Select(k => (Key: k, Distance: EditDistance.Between(snake, k))).Where(c => c.Distance <= (c.Key.Length >= 6 ? 2 : 1)).OrderBy(c => c.Distance).ToList();
        return close.Count > 0 && (close.Count == 1 || close[0].Distance < close[1].Distance) ? prefix + close[0].Key : null;
    }

    private static string Snake(string key)
    {
        var s = new StringBuilder();
        foreach (var c in key)
        {
            if (char.IsUpper(c) && s.Length > 0 && s[^1] != '_') s.Append('_');
            s.Append(c is '-' or ' ' ? '_' : char.ToLowerInvariant(c));
        }
        return s.ToString();
    }

    private static string Letters(string key) => new(key.Where(char.IsLetterOrDigit).Select(char.ToLowerInvariant).ToArray());

    private static string Printable(string text) => text.Replace("\0", "\\0", StringComparison.Ordinal).ReplaceLineEndings(" ");

    private static ZipItException Error(string file, RecipeNode at, string message) =>
        ZipItException.Usage($"{file}:{at.Line}:{at.Column}: {message}");

    private static ZipItException Expected(string file, RecipeNode node, string name, string what) =>
        Error(file, node, $"'{name}' must be {what}, got {node.Describe()}" + (node is RecipeScalar { Kind: ScalarKind.Integer or ScalarKind.Float or ScalarKind.Boolean } s && what == "text"
            ? $" (quote it: \"{s.Text}\")"
            : ""));

    private static string Text(string file, RecipeNode node, string name) =>
        node is RecipeScalar { Kind: ScalarKind.Text } s ? s.Text : throw Expected(file, node, name, "text");

    private static bool Bool(string file, RecipeNode node, string name) =>
        node is RecipeScalar { Kind: ScalarKind.Boolean } s ? s.Text == "true" : throw Expected(file, node, name, "true or false");

    private static double Number(string file, RecipeNode node, string name)
    {
        if (node is RecipeScalar { Kind: ScalarKind.Integer or ScalarKind.Float } s)
        {
            if (double.TryParse(s.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)) return value;
            throw Expected(file, node, name, "a finite number");
        }
        throw Expected(file, node, name, "a number");
    }

    /// <summary>A whole number (<c>1000</c>, or <c>1e3</c>), within [<paramref name="min"/>, <paramref name="max"/>].</summary>
    private static long Whole(string file, RecipeNode node, string name, long min, long max)
    {
        if (node is RecipeScalar { Kind: ScalarKind.Integer or ScalarKind.Float } s)
        {
            if (s.Kind == ScalarKind.Integer && long.TryParse(s.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole) && whole >= min && whole <= max)
                return whole;
            if (double.TryParse(s.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value == Math.Floor(value)
                && value >= min && value <= max && Math.Abs(value) < 9e15)
                return (long)value;
            if (double.TryParse(s.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value) && value == Math.Floor(value))
                throw Expected(file, node, name, $"a whole number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}");
        }
        throw Expected(file, node, name, "a whole number");
    }

    /// <summary>A stop point: a whole number (<c>13</c>) or a stage name (<c>layer2</c>), kept as text.</summary>
    private static string Stop(string file, RecipeNode node, string name) => node switch
    {
        RecipeScalar { Kind: ScalarKind.Text } s => s.Text,
        RecipeScalar { Kind: ScalarKind.Integer } s => s.Text,
        _ => throw Expected(file, node, name, "a stop point (a whole number such as 13, or a stage name such as layer2)"),
    };

    private static string[] TextList(string file, RecipeNode node, string name)
    {
        if (node is not RecipeList list) throw Expected(file, node, name, "a list of text");
        return list.Items.Select((item, i) => item is RecipeScalar { Kind: ScalarKind.Text } s ? s.Text : throw Expected(file, item, $"{name}[{i}]", "text")).ToArray();
    }

    /// <summary>Tasks as a list (<c>["a=0-4", "b=5-9"]</c>) or as a mapping of name to classes (<c>{a: 0-4, b: 5-9}</c>).</summary>
    private static string[] Tasks(string file, RecipeNode node, string name)
    {
        if (node is RecipeMap map)
        {
            var names = new HashSet<string>(StringComparer.Ordinal);
            return map.Entries.Select(e =>
            {
                if (!names.Add(e.Key.Text)) throw Error(file, e.Key, $"task '{Printable(e.Key.Text)}' is given twice in '{name}'");
                return e.Value is RecipeScalar { Kind: ScalarKind.Text or ScalarKind.Integer } s
                    ? $"{e.Key.Text}={s.Text}"
                    : throw Expected(file, e.Value, $"{name}.{e.Key.Text}", "classes (such as 0-4 or 0,2,4)");
            }).ToArray();
        }
        if (node is not RecipeList) throw Expected(file, node, name, "a list of tasks NAME=CLASSES (or a mapping of NAME: CLASSES)");
        return TextList(file, node, name);
    }

    /// <summary>
    /// Settings by name (a matcher's <c>settings</c>, <c>arch_settings</c>): text, or numbers and
    /// booleans read as their invariant text (<c>0.3</c>, <c>true</c>). Names keep their own spelling.
    /// </summary>
    private static Dictionary<string, string> Values(string file, RecipeNode node, string name)
    {
        if (node is not RecipeMap map) throw Expected(file, node, name, "a mapping of setting: value");
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in map.Entries)
        {
            if (values.ContainsKey(key.Text)) throw Error(file, key, $"'{name}.{Printable(key.Text)}' is given twice");
            values[key.Text] = value switch
            {
                RecipeScalar { Kind: ScalarKind.Text or ScalarKind.Boolean } s => s.Text,
                RecipeScalar { Kind: ScalarKind.Integer } s => long.TryParse(s.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole)
                    ? whole.ToString(CultureInfo.InvariantCulture)
                    : s.Text,
                RecipeScalar { Kind: ScalarKind.Float } s => double.TryParse(s.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && double.IsFinite(real)
                    ? real.ToString("R", CultureInfo.InvariantCulture)
                    : throw Expected(file, value, $"{name}.{key.Text}", "text, a finite number or true/false"),
                _ => throw Expected(file, value, $"{name}.{key.Text}", "text, a number or true/false"),
            };
        }
        return values;
    }
}
