namespace ZipIt.Engine.Plugins;

/// <summary>Which search-path entry a plugin came from.</summary>
public enum PluginSource
{
    BuiltIn,
    CommandLine,
    Environment,
    User,
}
