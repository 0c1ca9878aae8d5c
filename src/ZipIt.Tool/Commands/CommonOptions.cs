using System.CommandLine;
using ZipIt.Core;

namespace ZipIt.Commands;

/// <summary>Options several commands share, defined once so their names and help agree everywhere.</summary>
internal static class CommonOptions
{
    public static Option<bool> Json() => new("--json") { Description = "Write machine-readable JSON to stdout instead of text." };

    /// <summary>
    /// <c>--device auto|cpu|cuda|cuda:N</c>. A command that computes adds this option and calls
    /// <c>TorchRuntime.ResolveDevice(ctx.Value(device))</c> first thing in its body (before loading
    /// models or writing anything); the runner sees the option by name and loads a CUDA libtorch
    /// when it asks for cuda.
    /// </summary>
    public static Option<string> Device() => new(DeviceOptionName)
    {
        Description = "Where to compute: auto (a GPU when a CUDA libtorch is loaded and one is visible, else the CPU), cpu, cuda or cuda:N.",
        DefaultValueFactory = _ => "auto",
        HelpName = "DEVICE",
    };

    public const string DeviceOptionName = "--device";

    public static Option<string?> Arch() => new("--arch")
    {
        Description = "Architecture or variant name (e.g. resnet, resnet20) when the checkpoint does not say, or to check that it is that one.",
        HelpName = "NAME",
    };

    /// <summary>Short for <c>--set balance=A</c>; the matcher must declare the setting (else exit 2).</summary>
    public static Option<double?> Balance() => new("--balance")
    {
        Description = "MuDSC's α: share of weight-space similarity, 0..1; 1 needs no data (matchers that declare 'balance').",
        HelpName = "A",
    };

    /// <summary>Short for <c>--set mode=NAME</c>; the matcher must declare the setting (else exit 2).</summary>
    public static Option<string?> Mode() => new("--mode")
    {
        Description = "Matching mode, e.g. MuDSC's zip or align (matchers that declare 'mode').",
        HelpName = "NAME",
    };

    /// <summary>Parses repeated <c>--set NAME=VALUE</c> items (case-insensitive names; exit 2 for a malformed one).</summary>
    public static Dictionary<string, string> Settings(IEnumerable<string> items)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in items)
        {
            var i = item.IndexOf('=');
            if (i <= 0) throw ZipItException.Usage($"--set {item}: expected NAME=VALUE");
            values[item[..i].Trim()] = item[(i + 1)..].Trim();
        }
        return values;
    }

    public static Argument<string> Checkpoint(string description = "A .safetensors file, a torch.save file (.pt, .pth, .bin), a sharded *.index.json, or a folder holding one (and its config.json).") =>
        new("checkpoint") { Description = description };
}
