using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static TorchSharp.torch;

namespace ZipIt;

/// <summary>Everything a matcher gets for one matching run.</summary>
public sealed class MatchContext
{
    /// <summary>N, the number of models (at least 2).</summary>
    public required int ModelCount { get; init; }

    /// <summary>The points to match, in the graph's processing order.</summary>
    public required IReadOnlyList<MatchPoint> Points { get; init; }

    /// <summary>The settings for this run.</summary>
    public required MatcherSettings Settings { get; init; }

    /// <summary>The models' merge graph; null when matching a bare statistics file.</summary>
    public MergeGraph? Graph { get; init; }

    /// <summary>
    /// The N models' state dicts (PyTorch keys, CPU float32) when the matcher asked for
    /// <see cref="MatcherInputs.Weights"/>; null otherwise. Read-only for the matcher.
    /// </summary>
    public IReadOnlyList<IReadOnlyDictionary<string, Tensor>>? Weights { get; init; }

    /// <summary>Seed for any randomness (MuDSC's sweep order): same seed, same result.</summary>
    public long Seed { get; init; }

    /// <summary>Where to log progress (stderr); <c>--verbosity d</c> shows Debug.</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>Cancelled on Ctrl+C or SIGTERM; long matchers check it between points.</summary>
    public CancellationToken CancellationToken { get; init; }
}
