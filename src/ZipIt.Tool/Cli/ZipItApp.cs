using System.CommandLine;
using System.CommandLine.Help;
using ZipIt.Commands;
using ZipIt.Engine.Core;
using ZipIt.Hosting;

namespace ZipIt.Cli;

/// <summary>The command tree and its entry point; tests call <see cref="Run"/> in-process.</summary>
public static class ZipItApp
{
    public const string Description = """
        Merge neural networks trained on different tasks into one multi-task model without retraining (ZipIt!, MuDSC).

        Exit codes: 0 ok, 1 unexpected failure, 2 usage error, 3 bad input (file, tensor, shape), 4 plugin error, 5 resource or device unavailable (e.g. --device cuda without a GPU or a CUDA libtorch).
        Environment: ZIPIT_PLUGIN_PATH (extra plugin folders), ZIPIT_HOME (per-user folder; ~/.zipit when unset), ZIPIT_LIBTORCH (libtorch folder, as --libtorch).
        """;

    /// <summary>Parses and runs one command line; returns the process exit code (130 when <paramref name="cancellationToken"/> or a signal cancels it).</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, IReadOnlyDictionary<string, string?>? configuration = null,
        CancellationToken cancellationToken = default)
    {
        var streams = new ConsoleStreams(stdout, stderr);
        var root = CreateRootCommand(new CommandRunner(streams, configuration));
        var parse = root.Parse(args);
        var errors = HelpExamples.IsHelp(parse.Action) ? [] : PlainWords.Errors(parse);
        if (errors.Count > 0)
        {
            foreach (var error in errors) stderr.WriteLine("error: " + error);
            stderr.WriteLine($"Run '{ToolName} {string.Join(' ', CommandPath(parse))} --help' for usage.".Replace("  ", " "));
            stderr.Flush();
            return (int)ExitCode.Usage;
        }
        // No ProcessTerminationTimeout: the command runner handles signals itself (SignalCancellation),
        // so the command unwinds and cleans up instead of being abandoned after a timeout.
        var invocation = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
        return parse.InvokeAsync(invocation, cancellationToken).GetAwaiter().GetResult();
    }

    public const string ToolName = ToolIdentity.Command;

    internal static Command CreateRootCommand(CommandRunner runner)
    {
        // Not RootCommand: its name is the process's file name ("testhost" under tests, "dotnet-zipit"
        // when installed); the usage line must name the tool the same way everywhere.
        var root = new Command("dotnet-zipit", Description)
        {
            HelpExamples.CreateHelpOption(),
            new VersionOption(),
            GlobalOptions.Verbosity,
            GlobalOptions.Progress,
            GlobalOptions.Plugins,
            GlobalOptions.LibTorch,
            GlobalOptions.ArchSettings,
            InitCommand.Create(runner),
            InspectCommand.Create(runner),
            ConvertCommand.Create(runner),
            PredictCommand.Create(runner),
            CollectCommand.Create(runner),
            MatchCommand.Create(runner),
            ZipCommand.Create(runner),
            ResetBnCommand.Create(runner),
            RefitCommand.Create(runner),
            EvaluateCommand.Create(runner),
            MergeCommand.Create(runner),
            TrainCommand.Create(runner),
            ReproduceCommand.Create(runner),
            ReproduceCommand.CreateDemo(runner),
            DataCommand.Create(runner),
            PluginsCommand.Create(runner),
            DoctorCommand.Create(runner),
        };
        return root.WithExamples(
            "dotnet zipit demo",
            "dotnet zipit inspect a.pth",
            "dotnet zipit merge a.safetensors b.safetensors --data images/ -o merged/",
            "dotnet zipit evaluate merged/ --data test-images/ --task a=0-4 --task b=5-9");
    }

    private static IEnumerable<string> CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var r = parse.CommandResult; r?.Parent is System.CommandLine.Parsing.CommandResult parent; r = parent)
            names.Insert(0, r.Command.Name);
        return names;
    }
}
