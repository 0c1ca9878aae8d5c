namespace ZipIt.Engine.Core;

/// <summary>How people invoke zipit, for the commands it prints (usage hints, a model card's reproduce line).</summary>
internal static class ToolIdentity
{
    public const string Command = "dotnet zipit";

    /// <summary>The tool's assembly (and package) name, as <c>plugins list</c> names the matchers built into it.</summary>
    public const string AssemblyName = "dotnet-zipit";
}
