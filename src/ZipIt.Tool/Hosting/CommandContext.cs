using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TorchSharp;
using ZipIt.Engine.Output;
using ZipIt.Engine.Merge;
using ZipIt.Engine.Models;
using ZipIt.Engine.Plugins;
using static TorchSharp.torch;

namespace ZipIt.Hosting;

/// <summary>What a command's action gets: its parse result, streams, services and a logger.</summary>
internal sealed class CommandContext(ParseResult parseResult, IServiceProvider services, ConsoleStreams streams, CancellationToken cancellationToken)
{
    public ParseResult ParseResult { get; } = parseResult;
    public IServiceProvider Services { get; } = services;
    public TextWriter Out { get; } = streams.Out;
    public TextWriter Error { get; } = streams.Error;
    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>
    /// Where the command computes: its <c>--device</c>, resolved before the body runs (CPU for
    /// commands without the option). Stages get it from here or from the models loaded onto it.
    /// </summary>
    public Device Device { get; init; } = torch.CPU;

    /// <summary>Whether status lines may go to stderr (not with <c>--verbosity q</c>).</summary>
    public bool ShowStatus { get; init; }

    /// <summary>How long loops show progress on stderr (<see cref="ProgressDisplay.Decide"/>).</summary>
    public ProgressDisplay Progress { get; init; } = ProgressDisplay.Off;

    public ILogger Logger { get; } = services.GetRequiredService<ILoggerFactory>().CreateLogger("zipit");

    /// <summary>The plugins, loaded on first use (commands that need none never pay for loading).</summary>
    public PluginCatalog Plugins => Services.GetRequiredService<PluginCatalog>();

    public T Get<T>() where T : notnull => Services.GetRequiredService<T>();

    /// <summary>What the engine's sessions run with: this command's plugins, device, logger, progress and cancellation.</summary>
    public EngineContext Engine(long? maxMemory = null) =>
        new(Plugins, Get<ModelLoader>(), Device, Logger, Progress, CancellationToken) { MaxMemory = maxMemory };

    public T? Value<T>(Option<T> option) => ParseResult.GetValue(option);

    public T? Value<T>(Argument<T> argument) => ParseResult.GetValue(argument);
}
