namespace ZipIt.Engine.Core;

/// <summary>
/// How errors name the settings of a spec. The engine knows recipe keys (<c>batchSize</c>,
/// <c>evaluate.data</c>); a command passes its own wording (<c>--batch-size</c>, <c>--eval-data</c>)
/// so that a message names what its user typed.
/// </summary>
internal sealed class SettingNames(IReadOnlyDictionary<string, string> names)
{
    /// <summary>Keys as the recipe spells them, quoted: <c>"batchSize"</c>.</summary>
    public static SettingNames RecipeKeys { get; } = new(new Dictionary<string, string>());

    /// <summary>The name of <paramref name="key"/> in messages.</summary>
    public string this[string key] => names.TryGetValue(key, out var name) ? name : $"\"{key}\"";
}
