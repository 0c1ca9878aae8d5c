using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using ZipIt.Matching;

namespace ZipIt.Plugins.MuDsc;

/// <summary>
/// <c>mudsc</c>: Merging under Dual-Space Constraints (Xu et al., CVPR 2024; mudsc-method.md). Each
/// point is matched on S = balance·S_weight + (1 − balance)·S_act, where S_act is ZipIt!'s
/// activation correlation and S_weight the correlation of the units' incoming and outgoing weights
/// under the neighbours' current matchings, sweeping the points until the mean merge value stops
/// improving. <c>mode</c> picks Ψ: ZipIt!'s greedy (<c>zip</c>) or linear assignment (<c>align</c>),
/// in their group forms on grouped points. balance 1 needs no data; balance 0 is ZipIt!/permute on
/// activations alone (no sweeps).
/// </summary>
public sealed class MuDscMatcher : IMatcher
{
    public const string MatcherName = "mudsc";

    private static readonly MatcherParameter BalanceParameter = new(
        "balance", "0.5", "the paper's alpha: share of weight-space similarity in [0, 1]; 1 = weights only (no data needed), 0 = activations only");
    private static readonly MatcherParameter ModeParameter = new(
        "mode", "zip", "zip (ZipIt!'s greedy, within and across models) or align (linear assignment to model 0)");
    private static readonly MatcherParameter AlphaParameter = new(
        "alpha", "0.5", "zip mode: ZipIt!'s alpha, decay of a merged feature's further matches (MuDSC's a = 0.5)");
    private static readonly MatcherParameter BetaParameter = new(
        "beta", "1", "zip mode: ZipIt!'s beta, same-model merge budget (MuDSC's b = 1; zipit's default is 0.5)");
    private static readonly MatcherParameter MaxSweepsParameter = new(
        "max-sweeps", "100", "upper bound on sweeps over the points");
    private static readonly MatcherParameter PatienceParameter = new(
        "patience", "5", "stop after this many sweeps in a row without a better mean merge value");
    private static readonly MatcherParameter SweepOrderParameter = new(
        "sweep-order", "randperm", "randperm (the reference's: libtorch's randperm from a CPU generator seeded with --seed, so a seed gives the reference's order) or shuffle (.NET's Random, zipit's earlier order)");

    public string Name => MatcherName;

    public IReadOnlyList<MatcherPreset> Presets { get; } =
    [
        new("zip", "MuDSC-zip", new Dictionary<string, string> { ["mode"] = "zip" }, "MuDSC (Zip): ZipIt!'s greedy on the blended similarity"),
        new("align", "MuDSC-align", new Dictionary<string, string> { ["mode"] = "align" }, "MuDSC (Align): linear assignment on the blended similarity")
        {
            Comparisons =
            [
                new("MuDSC-align (untied)", new Dictionary<string, string> { [MatchMatrices.UntieHeadsParameter.Name] = "true" },
                    "each of a head's q/k and v points paired on its own, as the reference code does") { OnlyWithTiedGroups = true },
            ],
        },
    ];

    public string Description => "MuDSC: iterative matching on a blend of weight-space and activation-space similarity (balance, mode zip|align)";

    public IReadOnlyList<MatcherParameter> Parameters { get; } =
        [BalanceParameter, ModeParameter, AlphaParameter, BetaParameter, MaxSweepsParameter, PatienceParameter, SweepOrderParameter, MatchMatrices.UntieHeadsParameter, MatchMatrices.EpsilonParameter];

    public MatcherInputs RequiredInputs(MatcherSettings settings)
    {
        var options = ReadOptions(settings);
        return (options.UsesActivations ? MatcherInputs.Activations : MatcherInputs.None)
               | (options.UsesWeights ? MatcherInputs.Weights : MatcherInputs.None);
    }

    public IReadOnlyDictionary<string, MatchResult> Match(MatchContext context)
    {
        MatchInput.CheckContext(MatcherName, context);
        var options = ReadOptions(context.Settings);
        if (options.UsesWeights)
        {
            if (context.Weights is not { } weights || weights.Count != context.ModelCount)
                throw new ArgumentException($"the {MatcherName} matcher with balance > 0 needs the {context.ModelCount} models' weights (pass them with --models)");
            foreach (var point in context.Points)
                if (point.Space is null)
                    throw new ArgumentException($"point '{point.Name}': the {MatcherName} matcher with balance > 0 needs the architecture's description of the point (a metrics file from 'collect', or --models)");
        }
        var clock = Stopwatch.StartNew();
        using var sweeps = new MuDscSweeps(context, options);
        var prepared = clock.Elapsed.TotalSeconds;
        var results = sweeps.Run();
        context.Logger.LogInformation(
            "mudsc ({Mode}, balance {Balance}): {Sweeps} sweeps; weight similarity {Weight:0.00} s, matching {Matching:0.00} s, total {Total:0.00} s",
            options.Mode.ToString().ToLowerInvariant(), options.Balance.ToString(CultureInfo.InvariantCulture), sweeps.Sweeps,
            sweeps.WeightSeconds, sweeps.MatchSeconds, clock.Elapsed.TotalSeconds);
        context.Logger.LogDebug("mudsc: activation correlation and weight index took {Seconds:0.00} s", prepared);
        return results;
    }

    private static MuDscOptions ReadOptions(MatcherSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var balance = settings.GetDouble(BalanceParameter.Name);
        if (balance is < 0 or > 1)
            throw new ArgumentException($"matcher setting 'balance' must be between 0 and 1, got {balance.ToString(CultureInfo.InvariantCulture)}");
        var mode = settings.GetString(ModeParameter.Name).Trim().ToLowerInvariant() switch
        {
            "zip" => MuDscMode.Zip,
            "align" => MuDscMode.Align,
            var other => throw new ArgumentException($"matcher setting 'mode' must be zip or align, got '{other}'"),
        };
        var alpha = settings.GetDouble(AlphaParameter.Name);
        if (alpha <= 0 || alpha > 1)
            throw new ArgumentException($"matcher setting 'alpha' must be in (0, 1], got {alpha.ToString(CultureInfo.InvariantCulture)}");
        var beta = settings.GetDouble(BetaParameter.Name);
        if (beta < 0)
            throw new ArgumentException($"matcher setting 'beta' must be at least 0, got {beta.ToString(CultureInfo.InvariantCulture)}");
        var maxSweeps = settings.GetInt(MaxSweepsParameter.Name);
        if (maxSweeps < 1)
            throw new ArgumentException($"matcher setting 'max-sweeps' must be at least 1, got {maxSweeps}");
        var patience = settings.GetInt(PatienceParameter.Name);
        if (patience < 1)
            throw new ArgumentException($"matcher setting 'patience' must be at least 1, got {patience}");
        var order = settings.GetString(SweepOrderParameter.Name).Trim().ToLowerInvariant() switch
        {
            "randperm" => SweepOrderKind.Randperm,
            "shuffle" => SweepOrderKind.Shuffle,
            var other => throw new ArgumentException($"matcher setting 'sweep-order' must be randperm or shuffle, got '{other}'"),
        };
        return new MuDscOptions(balance, mode, new ZipItOptions(alpha, beta), maxSweeps, patience, MatchMatrices.Epsilon(settings),
            settings.GetBool(MatchMatrices.UntieHeadsParameter.Name), order);
    }
}
