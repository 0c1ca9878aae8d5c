using ZipIt.Plugins.Vit;

[assembly: ZipIt.ZipItPlugin(typeof(VitPlugin))]

namespace ZipIt.Plugins.Vit;

/// <summary>Registers the <c>vit</c> architecture family.</summary>
public sealed class VitPlugin : IZipItPlugin
{
    public void Register(IPluginRegistry registry) => registry.AddArchitecture(new VitArchitecture());
}
