namespace ZipIt;

/// <summary>What a plugin registers into. Names are case-insensitive and must be unique across all plugins.</summary>
public interface IPluginRegistry
{
    void AddArchitecture(IArchitecture architecture);

    void AddMatcher(IMatcher matcher);
}
