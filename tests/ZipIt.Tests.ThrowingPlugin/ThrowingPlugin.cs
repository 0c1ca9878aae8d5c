using ZipIt;

[assembly: ZipItPlugin(typeof(ZipIt.Tests.ThrowingPlugin.ThrowingPlugin))]

namespace ZipIt.Tests.ThrowingPlugin;

public sealed class ThrowingPlugin : IZipItPlugin
{
    public void Register(IPluginRegistry registry) =>
        throw new InvalidOperationException("this test plugin always fails to register");
}
