namespace ZipIt.Engine.Plugins;

/// <summary>A plugin that was found but not used, and why (shown as one warning line).</summary>
public sealed record PluginProblem(string Plugin, string Path, string Reason)
{
    public override string ToString() => $"plugin '{Plugin}' ({Path}) not loaded: {Reason}";
}
