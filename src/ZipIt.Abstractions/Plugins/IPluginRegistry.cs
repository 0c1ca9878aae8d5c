namespace ZipIt;

/// <summary>What a plugin registers into. Names are case-insensitive and must be unique across all plugins.</summary>
public interface IPluginRegistry
{
    /// <summary>Registers an architecture family; a name already registered by any plugin is reported as that plugin's problem and the plugin is not loaded.</summary>
    void AddArchitecture(IArchitecture architecture);

    /// <summary>Registers a matcher; a name already registered by any plugin is reported as that plugin's problem and the plugin is not loaded.</summary>
    void AddMatcher(IMatcher matcher);
}
