namespace ZipIt.Engine.Plugins;

/// <summary>
/// Where plugins are looked for, in precedence order: the tool's own <c>plugins/</c> folder, each
/// <c>--plugins</c> path, each <c>ZIPIT_PLUGIN_PATH</c> entry, then the per-user folder
/// (<c>~/.zipit/plugins</c>, or <c>$ZIPIT_HOME/plugins</c>). A plugin found twice is loaded from
/// the first place.
/// </summary>
internal sealed record PluginSearchPath(string BuiltIn, IReadOnlyList<string> Explicit, IReadOnlyList<string> FromEnvironment, string User);
