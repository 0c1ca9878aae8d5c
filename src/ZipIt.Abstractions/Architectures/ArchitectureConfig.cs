using System.Text;

namespace ZipIt;

/// <summary>
/// Everything needed to rebuild one model's structure: family, variant and the settings that vary
/// within a variant (width, classes, norm layer, block counts...). Settings are strings so the
/// configuration round-trips through a checkpoint's <c>__metadata__</c> unchanged.
/// </summary>
public sealed class ArchitectureConfig : IEquatable<ArchitectureConfig>
{
    /// <summary>A configuration of <paramref name="variant"/> in family <paramref name="architecture"/>; <paramref name="settings"/> are copied and kept in ordinal key order.</summary>
    public ArchitectureConfig(string architecture, string variant, IReadOnlyDictionary<string, string>? settings = null)
    {
        Architecture = architecture;
        Variant = variant;
        Settings = new SortedDictionary<string, string>(
            (settings ?? new Dictionary<string, string>()).ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal);
    }

    /// <summary>The <see cref="IArchitecture.Name"/> of the family.</summary>
    public string Architecture { get; }

    /// <summary>The variant name (one of <see cref="IArchitecture.Variants"/>, or a family-specific name for non-standard shapes).</summary>
    public string Variant { get; }

    /// <summary>Settings in ordinal key order.</summary>
    public IReadOnlyDictionary<string, string> Settings { get; }

    /// <summary>
    /// How a recognised setting was decided when the checkpoint does not record it (e.g.
    /// "heads: 6, from timm's head-dim-64 convention"), for <c>inspect</c>. Not part of the
    /// configuration: ignored by equality and not written to metadata.
    /// </summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>A setting, or <paramref name="fallback"/> when absent.</summary>
    public string Get(string key, string fallback) => Settings.TryGetValue(key, out var v) ? v : fallback;

    /// <summary>A required integer setting; throws <see cref="ArgumentException"/> naming it when absent or malformed.</summary>
    public int GetInt(string key)
    {
        if (!Settings.TryGetValue(key, out var v) || !int.TryParse(v, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var i))
            throw new ArgumentException($"architecture setting '{key}' is missing or not an integer in {this}");
        return i;
    }

    /// <summary>Same family, variant and settings (<see cref="Notes"/> are ignored).</summary>
    public bool Equals(ArchitectureConfig? other) =>
        other is not null && Architecture == other.Architecture && Variant == other.Variant &&
        Settings.Count == other.Settings.Count &&
        Settings.All(kv => other.Settings.TryGetValue(kv.Key, out var v) && v == kv.Value);

    /// <inheritdoc cref="Equals(ArchitectureConfig?)"/>
    public override bool Equals(object? obj) => Equals(obj as ArchitectureConfig);

    /// <summary>A hash consistent with <see cref="Equals(ArchitectureConfig?)"/>.</summary>
    public override int GetHashCode() => HashCode.Combine(Architecture, Variant, Settings.Count);

    /// <summary><c>resnet/resnet20 (norm=bn, width=4)</c>.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder().Append(Architecture).Append('/').Append(Variant);
        if (Settings.Count > 0)
            sb.Append(" (").Append(string.Join(", ", Settings.Select(kv => $"{kv.Key}={kv.Value}"))).Append(')');
        return sb.ToString();
    }
}
