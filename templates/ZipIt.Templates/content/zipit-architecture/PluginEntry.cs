using ZipIt;

[assembly: ZipItPlugin(typeof(MyZipItPlugin.PluginEntry))]

namespace MyZipItPlugin;

/// <summary>The plugin's entry point: the host creates it once and calls <see cref="Register"/>.</summary>
public sealed class PluginEntry : IZipItPlugin
{
    /// <inheritdoc />
    public void Register(IPluginRegistry registry) => registry.AddArchitecture(new TinyConvArchitecture());
}
