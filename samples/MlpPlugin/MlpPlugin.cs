using ZipIt;

[assembly: ZipItPlugin(typeof(MlpPlugin.MlpPluginEntry))]

namespace MlpPlugin;

/// <summary>Registers the "mlp" architecture.</summary>
public sealed class MlpPluginEntry : IZipItPlugin
{
    public void Register(IPluginRegistry registry) => registry.AddArchitecture(new MlpArchitecture());
}
