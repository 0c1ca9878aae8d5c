namespace ZipIt.Core;

/// <summary>How people invoke zipit, for the commands it prints (usage hints, a model card's reproduce line).</summary>
internal static class ToolIdentity
{
    public const string Command = "dotnet zipit";
}
