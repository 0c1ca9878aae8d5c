using ZipIt.Engine.Core;

namespace ZipIt.Engine.Plugins;

/// <summary>Everything the plugins registered, with where each item came from.</summary>
public sealed class PluginCatalog(
    IReadOnlyList<LoadedPlugin> plugins,
    IReadOnlyList<(IArchitecture Architecture, LoadedPlugin Plugin)> architectures,
    IReadOnlyList<(IMatcher Matcher, LoadedPlugin Plugin)> matchers,
    IReadOnlyList<PluginProblem> problems)
{
    public IReadOnlyList<LoadedPlugin> Plugins { get; } = plugins;
    public IReadOnlyList<(IArchitecture Architecture, LoadedPlugin Plugin)> Architectures { get; } = architectures;
    public IReadOnlyList<(IMatcher Matcher, LoadedPlugin Plugin)> Matchers { get; } = matchers;
    public IReadOnlyList<PluginProblem> Problems { get; } = problems;

    /// <summary>The matcher called <paramref name="name"/>; exit 4 naming the installed ones when absent.</summary>
    public IMatcher Matcher(string name) =>
        Matchers.FirstOrDefault(m => string.Equals(m.Matcher.Name, name, StringComparison.OrdinalIgnoreCase)).Matcher
        ?? throw ZipItException.Plugin($"no matcher '{name}' is installed (installed: {Names(Matchers.Select(m => m.Matcher.Name))})");

    /// <summary>The architecture family called <paramref name="name"/>, or null.</summary>
    public IArchitecture? Architecture(string name) =>
        Architectures.FirstOrDefault(a => string.Equals(a.Architecture.Name, name, StringComparison.OrdinalIgnoreCase)).Architecture;

    /// <summary>
    /// The architecture that registers variant <paramref name="variant"/>, or else the family whose
    /// name prefixes it (<c>FAMILY-…</c>: the shapes configured by settings alone, such as
    /// <c>vit-custom</c> or <c>resnet-cifar</c>, which no variant list names); exit 2 naming where
    /// to look when none does.
    /// </summary>
    public IArchitecture ArchitectureOfVariant(string variant) =>
        Architectures.Select(a => a.Architecture).FirstOrDefault(a => a.Variants.Any(v => string.Equals(v.Name, variant, StringComparison.OrdinalIgnoreCase)))
        ?? Architectures.Select(a => a.Architecture).FirstOrDefault(a => variant.StartsWith(a.Name + "-", StringComparison.OrdinalIgnoreCase))
        ?? throw ZipItException.Usage($"no installed architecture has a variant '{variant}' (see 'dotnet zipit plugins list')");

    /// <summary>The architecture of <paramref name="variant"/> and its configuration from <paramref name="settings"/>; a bad setting is a usage error.</summary>
    public (IArchitecture Architecture, ArchitectureConfig Config) Configure(string variant, IReadOnlyDictionary<string, string> settings)
    {
        var architecture = ArchitectureOfVariant(variant);
        try { return (architecture, architecture.Configure(variant, settings)); }
        catch (ArgumentException e) { throw ZipItException.Usage($"{variant}: {e.Message}"); }
    }

    private static string Names(IEnumerable<string> names)
    {
        var list = names.ToList();
        return list.Count == 0 ? "none" : string.Join(", ", list);
    }
}
