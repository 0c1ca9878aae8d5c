namespace ZipIt;

/// <summary>
/// Names the <see cref="IZipItPlugin"/> type of a plugin assembly, so the host finds it without
/// scanning every type: <c>[assembly: ZipItPlugin(typeof(MyPlugin))]</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = false)]
public sealed class ZipItPluginAttribute : Attribute
{
    /// <summary>Names <paramref name="pluginType"/> as the assembly's plugin.</summary>
    public ZipItPluginAttribute(Type pluginType) => PluginType = pluginType;

    /// <summary>A public, non-abstract class implementing <see cref="IZipItPlugin"/>.</summary>
    public Type PluginType { get; }
}
