using System.CommandLine;

namespace ZipIt.Hosting;

/// <summary>Options every command accepts.</summary>
internal static class GlobalOptions
{
    /// <summary>The name of a command's <c>--json</c> option: with it, the runner keeps progress off stdout's reader's way.</summary>
    public const string JsonOptionName = "--json";

    /// <summary>The name of a command's <c>--device</c> option: a command opts into a device by having it.</summary>
    public const string DeviceOptionName = "--device";

    public static readonly Option<string> Verbosity = CreateVerbosity();

    public static readonly Option<string[]> Plugins = new("--plugins")
    {
        Description = "Also load plugins from this folder (a plugin folder, a folder of plugin folders, or a plugin .dll). Repeatable.",
        Recursive = true,
        Arity = ArgumentArity.OneOrMore,
        HelpName = "DIR",
    };

    public static readonly Option<string?> LibTorch = new("--libtorch")
    {
        Description = "Load libtorch from this folder (one holding libtorch_cpu.so, and libtorch_cuda.so for GPUs, e.g. <python>/site-packages/torch/lib) instead of the bundled CPU build. [default: $ZIPIT_LIBTORCH]",
        Recursive = true,
        HelpName = "DIR",
    };

    /// <summary>Progress on stderr even when it is not a terminal (a log file, CI), or together with <c>--json</c>.</summary>
    public static readonly Option<bool> Progress = new("--progress")
    {
        Description = "Show progress (with ETA) of the stages that run over data on stderr even when stderr is not a terminal, or with --json. Never with --verbosity q.",
        Recursive = true,
    };

    /// <summary>
    /// Architecture settings: of the model <c>init</c>, <c>train</c> and <c>reproduce</c> build, and
    /// those a checkpoint does not record, used when recognising it (a timm ViT's head count).
    /// Matcher settings are <c>--set</c>: the two never share a name.
    /// </summary>
    public static readonly Option<string[]> ArchSettings = new("--arch-set")
    {
        Description = "An architecture setting as name=value: of the model init, train and reproduce build (e.g. width=4, norm=gn), or one the checkpoints do not record, used to recognise them (e.g. heads=6 for a timm ViT). Repeatable.",
        Recursive = true,
        Arity = ArgumentArity.OneOrMore,
        HelpName = "NAME=VALUE",
    };

    private static Option<string> CreateVerbosity()
    {
        var option = new Option<string>("--verbosity", "-v")
        {
            Description = "Log detail on stderr: q[uiet], m[inimal], n[ormal], d[etailed], diag[nostic].",
            Recursive = true,
            DefaultValueFactory = _ => "m",
            HelpName = "LEVEL",
        };
        option.AcceptOnlyFromAmong(VerbosityExtensions.Names);
        return option;
    }
}
