namespace ZipIt;

/// <summary>
/// The entry point of a plugin assembly. The host creates one instance (public parameterless
/// constructor) of the type named by <see cref="ZipItPluginAttribute"/> and calls
/// <see cref="Register"/> once. An exception thrown here disables this plugin only, with one line
/// naming it.
/// </summary>
public interface IZipItPlugin
{
    /// <summary>Adds this plugin's architectures and matchers to the registry.</summary>
    void Register(IPluginRegistry registry);
}
