using System.CommandLine;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TorchSharp;
using ZipIt.Engine.Runtime;
using ZipIt.Engine.Matching;
using ZipIt.Engine.Models;
using ZipIt.Engine.Output;
using ZipIt.Engine.Plugins;
using ZipIt.Engine.Core;

namespace ZipIt.Hosting;

/// <summary>
/// Runs a command's body inside a generic host (configuration from <c>ZIPIT_*</c> environment
/// variables, DI, logging to stderr) and turns every failure into one stderr line and an
/// <see cref="ExitCode"/>: never a stack trace unless <c>--verbosity diag</c>.
/// </summary>
internal sealed class CommandRunner(ConsoleStreams streams, IReadOnlyDictionary<string, string?>? configuration)
{
    public int Run(ParseResult parseResult, CancellationToken cancellationToken, Func<CommandContext, int> body)
    {
        var verbosity = Verbosity.Minimal;
        // Signals cancel the command; its temps are deleted when it ends however it ends.
        using var signals = new SignalCancellation(cancellationToken,
            configuration?.GetValueOrDefault(SignalCancellation.TestHookKey) ?? Environment.GetEnvironmentVariable("ZIPIT_" + SignalCancellation.TestHookKey));
        using var temps = TempFiles.Begin(signals.Token, signals);
        cancellationToken = signals.Token;
        try
        {
            verbosity = VerbosityExtensions.Parse(parseResult.GetValue(GlobalOptions.Verbosity) ?? "m");
            using var host = BuildHost(parseResult, verbosity);
            // Before anything can touch TorchSharp: which libtorch, and whether CUDA is wanted.
            var device = parseResult.CommandResult.Command.Options.OfType<Option<string>>().FirstOrDefault(o => o.Name == GlobalOptions.DeviceOptionName);
            TorchRuntime.Configure(parseResult.GetValue(GlobalOptions.LibTorch), host.Services.GetRequiredService<IConfiguration>()["LIBTORCH"],
                device is null ? null : parseResult.GetValue(device));
            // A command opts into --device by having the option: the device is resolved (exit 5 when
            // unavailable) before its body loads or writes anything.
            var computeDevice = device is null ? torch.CPU : TorchRuntime.ResolveDevice(parseResult.GetValue(device));
            var context = new CommandContext(parseResult, host.Services, streams, cancellationToken)
            {
                ShowStatus = verbosity > Verbosity.Quiet,
                Progress = new ProgressDisplay(streams.Error, ProgressModeOf(parseResult, verbosity)),
                Device = computeDevice,
            };
            var code = body(context);
            // A signal after the command's last check finds its work done and its outputs in place:
            // the run has completed, and the exit says so.
            signals.BodyReturned();
            return code;
        }
        catch (Exception e)
        {
            return Report(e, verbosity);
        }
        finally
        {
            streams.Out.Flush();
            streams.Error.Flush();
        }
    }

    /// <summary>The command's progress mode: <c>--json</c> is any command's option of that name.</summary>
    private ProgressMode ProgressModeOf(ParseResult parseResult, Verbosity verbosity)
    {
        var json = parseResult.CommandResult.Command.Options.OfType<Option<bool>>().FirstOrDefault(o => o.Name == GlobalOptions.JsonOptionName);
        var terminal = ReferenceEquals(streams.Error, Console.Error) && !Console.IsErrorRedirected;
        return ProgressDisplay.Decide(verbosity == Verbosity.Quiet, json is not null && parseResult.GetValue(json),
            parseResult.GetValue(GlobalOptions.Progress), terminal);
    }

    private int Report(Exception e, Verbosity verbosity)
    {
        // TorchSharp's type initialiser fails when libtorch could not be loaded; say why in one line.
        if (e is TypeInitializationException && TorchRuntime.LoadFailure is { } failure) e = failure;
        var (code, message) = e switch
        {
            ZipItException z => (z.Code, z.Message),
            OperationCanceledException => ((ExitCode)130, "cancelled"),
            OutOfMemoryException => (ExitCode.Resource, "out of memory"),
            ExternalException x when ResourceErrors.IsOutOfMemory(x) => (ExitCode.Resource, $"out of memory: {ResourceErrors.FirstLine(x)}"),
            ExternalException x => (ExitCode.Unexpected, $"unexpected failure in libtorch: {x.Message}"),
            _ => (ExitCode.Unexpected, $"unexpected failure: {e.GetType().Name}: {e.Message}"),
        };
        streams.Error.WriteLine("error: " + PlainWords.WithoutTypeNames(Messages.OneLine(message)));
        if (verbosity >= Verbosity.Diagnostic) streams.Error.WriteLine(e);
        else if (code == ExitCode.Unexpected) streams.Error.WriteLine("(run with --verbosity diag for details, and please report this)");
        return (int)code;
    }

    private IHost BuildHost(ParseResult parseResult, Verbosity verbosity)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddEnvironmentVariables("ZIPIT_");
        if (configuration is not null) builder.Configuration.AddInMemoryCollection(configuration);

        var level = verbosity.ToLogLevel();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(level);
        builder.Logging.AddProvider(new LineLoggerProvider(streams.Error, level));

        builder.Services.AddSingleton(streams);
        builder.Services.AddSingleton(new PluginSearchPath(
            BuiltIn: Path.Combine(AppContext.BaseDirectory, "plugins"),
            Explicit: parseResult.GetValue(GlobalOptions.Plugins) ?? [],
            FromEnvironment: SplitPaths(builder.Configuration["PLUGIN_PATH"]),
            User: Path.Combine(builder.Configuration["HOME"] ?? DefaultHome(), "plugins")));
        builder.Services.AddSingleton(sp => PluginHost.Load(sp.GetRequiredService<PluginSearchPath>(), sp.GetRequiredService<ILoggerFactory>().CreateLogger("plugins"), new BuiltInMatchers()));
        builder.Services.AddSingleton(new RecognitionHints(SettingList.Parse(parseResult.GetValue(GlobalOptions.ArchSettings) ?? [], "--arch-set")));
        builder.Services.AddSingleton<ModelLoader>();
        return builder.Build();
    }

    private static string DefaultHome() =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".zipit");

    private static string[] SplitPaths(string? value) =>
        string.IsNullOrWhiteSpace(value) ? [] : value.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
