using Microsoft.Extensions.Logging;
using ZipIt.Engine.Models;
using ZipIt.Engine.Output;
using ZipIt.Engine.Plugins;
using static TorchSharp.torch;

namespace ZipIt.Engine.Merge;

/// <summary>
/// What every session runs with, whoever hosts it: the plugins and the loader built on them, where
/// it computes, where it logs and shows progress, how it is cancelled and how much memory it may
/// plan to use (null: what the machine has available).
/// </summary>
internal sealed record EngineContext(PluginCatalog Plugins, ModelLoader Loader, Device Device, ILogger Logger, ProgressDisplay Progress,
    CancellationToken Cancellation)
{
    public long? MaxMemory { get; init; }
}
