using System.CommandLine;

namespace ZipIt.Commands;

/// <summary>Options several commands share, defined once so their names and help agree everywhere.</summary>
internal static class CommonOptions
{
    public static Option<bool> Json() => new("--json") { Description = "Write machine-readable JSON to stdout instead of text." };

    public static Option<string?> Arch() => new("--arch")
    {
        Description = "Architecture or variant name (e.g. resnet, resnet20) when the checkpoint does not say, or to check that it is that one.",
        HelpName = "NAME",
    };

    public static Argument<string> Checkpoint(string description = "A .safetensors file, a sharded model.safetensors.index.json, or a folder holding either.") =>
        new("checkpoint") { Description = description };
}
