namespace ZipIt.Engine.Plugins;

/// <summary>A plugin assembly that loaded and registered without error.</summary>
/// <param name="Name">Assembly name.</param>
/// <param name="Version">Informational version of the assembly.</param>
/// <param name="Path">Full path of the plugin .dll.</param>
/// <param name="Source">Which search-path entry it came from.</param>
public sealed record LoadedPlugin(string Name, string Version, string Path, PluginSource Source);
