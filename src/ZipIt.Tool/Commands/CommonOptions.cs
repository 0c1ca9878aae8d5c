using System.CommandLine;
using ZipIt.Engine.Runtime;
using ZipIt.Engine.Core;
using ZipIt.Hosting;

namespace ZipIt.Commands;

/// <summary>Options several commands share, defined once so their names and help agree everywhere.</summary>
internal static class CommonOptions
{
    /// <summary>The name of <see cref="Json"/>, by which the runner finds it.</summary>
    public const string JsonOptionName = GlobalOptions.JsonOptionName;

    public static Option<bool> Json() => new(JsonOptionName) { Description = "Write machine-readable JSON to stdout instead of text." };

    /// <summary>
    /// <c>--device auto|cpu|cuda|cuda:N</c>. A command that computes adds this option; the runner
    /// sees it by name, loads a CUDA libtorch when it asks for cuda and resolves it into
    /// <c>CommandContext.Device</c> before the body loads or writes anything.
    /// </summary>
    public static Option<string> Device() => new(DeviceOptionName)
    {
        Description = "Where to compute: auto (a GPU when a CUDA libtorch is loaded and one is visible, else the CPU), cpu, cuda or cuda:N.",
        DefaultValueFactory = _ => "auto",
        HelpName = "DEVICE",
    };

    public const string DeviceOptionName = GlobalOptions.DeviceOptionName;

    /// <summary>
    /// An option whose values are an enum's names, shown and typed in lower case
    /// (<c>--schedule &lt;onecycle|linear|cosine&gt;</c>, not .NET's <c>OneCycle</c>). Null when not
    /// given; the caller applies <paramref name="defaultValue"/>, which the description states.
    /// </summary>
    public static Option<T?> Choice<T>(string name, string description, T? defaultValue = null) where T : struct, Enum => new(name)
    {
        Description = defaultValue is { } d ? $"{description} [default: {Lower(d)}]" : description,
        HelpName = string.Join("|", Enum.GetValues<T>().Select(Lower)),
    };

    private static string Lower<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();

    public static Option<string?> Arch() => new("--arch")
    {
        Description = "Architecture or variant name (e.g. resnet, resnet20) when the checkpoint does not say, or to check that it is that one.",
        HelpName = "NAME",
    };

    /// <summary><c>--tap-set NAME</c>: observe spaces at an alternative tap set their architecture declares (e.g. a ViT's <c>blocks</c>).</summary>
    public static Option<string[]> TapSets() => new("--tap-set")
    {
        Description = "Observe spaces at an alternative tap set the architecture declares (see 'inspect --graph'), e.g. blocks: a ViT's residual stream at every block's output tokens instead of the pooled token. Repeatable.",
        Arity = ArgumentArity.OneOrMore,
        HelpName = "NAME",
    };

    /// <summary><c>--preset NAME</c>: one of the matcher's named settings (e.g. mudsc's zip or align); <c>--set</c> overrides its values.</summary>
    public static Option<string?> Preset() => new("--preset")
    {
        Description = "One of the matcher's named settings (see 'plugins list'), e.g. mudsc's zip or align; --set values override it.",
        HelpName = "NAME",
    };

    /// <summary><c>--max-memory SIZE</c>: the memory a command may plan to use (exit 5 before any work when its estimate is more); default: what the machine has available.</summary>
    public static Option<string?> MaxMemory() => new(MaxMemoryOptionName)
    {
        Description = "Refuse (exit 5) before any work when the estimated peak memory exceeds SIZE (e.g. 8GiB, 500MB, bytes). [default: the memory this machine has available]",
        HelpName = "SIZE",
    };

    public const string MaxMemoryOptionName = "--max-memory";

    /// <summary>The bytes of a <c>--max-memory</c> value (exit 2 when it is not a size), or null when not given.</summary>
    public static long? MaxMemoryBytes(string? text) => text is null ? null : ByteSize.Parse(text, MaxMemoryOptionName);

    /// <summary>Parses repeated <c>--arch-set NAME=VALUE</c> items (case-insensitive names; exit 2 for a malformed one).</summary>
    public static Dictionary<string, string> ArchSettings(IEnumerable<string> items) => SettingList.Parse(items, "--arch-set");

    public static Argument<string> Checkpoint(string description = "A .safetensors file, a torch.save file (.pt, .pth, .bin), a sharded *.index.json, or a folder holding one (and its config.json).") =>
        new("checkpoint") { Description = description };
}
