using ZipIt.Plugins.MuDsc;

[assembly: ZipIt.ZipItPlugin(typeof(MuDscPlugin))]

namespace ZipIt.Plugins.MuDsc;

/// <summary>Registers the <c>mudsc</c> matcher.</summary>
public sealed class MuDscPlugin : IZipItPlugin
{
    public void Register(IPluginRegistry registry) => registry.AddMatcher(new MuDscMatcher());
}
