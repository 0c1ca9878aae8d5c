using ZipIt.Plugins.ResNet;

[assembly: ZipIt.ZipItPlugin(typeof(ResNetPlugin))]

namespace ZipIt.Plugins.ResNet;

/// <summary>Registers the <c>resnet</c> architecture family.</summary>
public sealed class ResNetPlugin : IZipItPlugin
{
    public void Register(IPluginRegistry registry) => registry.AddArchitecture(new ResNetArchitecture());
}
