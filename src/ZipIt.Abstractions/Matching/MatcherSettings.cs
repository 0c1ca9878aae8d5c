using System.Globalization;

namespace ZipIt;

/// <summary>
/// The values a user gave for a matcher's <see cref="MatcherParameter"/>s (recipe and flags merged),
/// falling back to the declared defaults. Values are invariant-culture strings.
/// </summary>
public sealed class MatcherSettings
{
    private readonly Dictionary<string, string> _values;
    private readonly Dictionary<string, MatcherParameter> _parameters;

    /// <summary>Settings for <paramref name="parameters"/> with the given <paramref name="values"/>; an unknown name throws <see cref="ArgumentException"/> naming it and the known ones.</summary>
    public MatcherSettings(IEnumerable<MatcherParameter> parameters, IReadOnlyDictionary<string, string>? values = null)
    {
        _parameters = parameters.ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        _values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (k, v) in values ?? new Dictionary<string, string>())
        {
            if (!_parameters.ContainsKey(k))
                throw new ArgumentException($"unknown matcher setting '{k}' (known: {string.Join(", ", _parameters.Keys)})");
            _values[k] = v;
        }
    }

    /// <summary>Every setting with its effective value, in declaration order.</summary>
    public IReadOnlyDictionary<string, string> Effective =>
        _parameters.Values.ToDictionary(p => p.Name, p => _values.TryGetValue(p.Name, out var v) ? v : p.Default);

    /// <summary>The value of setting <paramref name="name"/> (given, or its default); an undeclared name throws <see cref="ArgumentException"/>.</summary>
    public string GetString(string name) =>
        _values.TryGetValue(name, out var v) ? v
        : _parameters.TryGetValue(name, out var p) ? p.Default
        : throw new ArgumentException($"matcher setting '{name}' is not declared");

    /// <summary>The setting as a finite number; throws <see cref="ArgumentException"/> naming it otherwise.</summary>
    public double GetDouble(string name) =>
        double.TryParse(GetString(name), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)
            ? d : throw new ArgumentException($"matcher setting '{name}' must be a number, got '{GetString(name)}'");

    /// <summary>The setting as an integer; throws <see cref="ArgumentException"/> naming it otherwise.</summary>
    public int GetInt(string name) =>
        int.TryParse(GetString(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var i)
            ? i : throw new ArgumentException($"matcher setting '{name}' must be an integer, got '{GetString(name)}'");

    /// <summary>The setting as <c>true</c> or <c>false</c>; throws <see cref="ArgumentException"/> naming it otherwise.</summary>
    public bool GetBool(string name) =>
        bool.TryParse(GetString(name), out var b)
            ? b : throw new ArgumentException($"matcher setting '{name}' must be true or false, got '{GetString(name)}'");
}
