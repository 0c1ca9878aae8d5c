using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using ZipIt.Engine.Core;
using ZipIt.Engine.Data;
using ZipIt.Engine.Models;
using ZipIt.Engine.Output;
using ZipIt.Engine.Zip;
using static TorchSharp.torch;

namespace ZipIt.Engine.Repair;

/// <summary>
/// REPAIR (Jordan et al., ICLR 2023) for merge points without a BatchNorm to reset: after the zip,
/// each merged unit of a <see cref="RepairPlan"/> site gets an affine correction of its producer
/// (<see cref="AffineCorrection"/>) so that, on the calibration images, its mean and standard
/// deviation are the targets: the matched base units' statistics combined as the merge combines
/// them, μ*ₖ = Σᵢ M̃ᵢ[k,:]·μᵢ and σ*ₖ = Σᵢ M̃ᵢ[k,:]·σᵢ (M̃ᵢ model i's block of the point's merge
/// matrix, the rows the zip itself used: interpolated statistics). Any matcher's result can be
/// repaired: the stage needs only the merged model, the base models, the merge matrices and images.
/// </summary>
/// <remarks>
/// <para>Sequential, in the order the modules run (found by one probe image): a site's merged
/// statistics are measured after every site before it was corrected, so each correction sees its
/// real inputs. One pass does not suffice: correcting norm1 changes what qkv sees, q and k change
/// the attention v is averaged by, and so on down the network. Each pass runs only the stages up to
/// the module's. Sites of one module (q, k and v of one qkv) are computed together from one input,
/// so they share a pass. The base models' statistics do not change: one pass each, every site at
/// once. Cost: N + (corrected modules) passes, the later ones through more stages; for a ViT of
/// depth D about N + 2D full forward passes.</para>
/// <para>Statistics are float64 (<see cref="UnitMoments"/>), population standard deviations over
/// every sample (image × position or token). A failure or a cancellation restores every parameter
/// the stage changed, so the merged model is left as the zip made it.</para>
/// </remarks>
internal static class RepairStage
{
    /// <summary>Repairs <paramref name="merged"/> in place from <paramref name="bases"/> (the models it was zipped from, in match order).</summary>
    /// <param name="matches">The merge matrices M̃ [C, N·C] of every point the zip merged.</param>
    /// <param name="data">Calibration images, the same for every model.</param>
    public static RepairReport Run(IReadOnlyList<LoadedModel> bases, LoadedModel merged, IReadOnlyDictionary<string, MatchResult> matches, TensorDataset data,
        int batchSize, CancellationToken cancellation = default, ProgressDisplay? progress = null, ILogger? logger = null)
    {
        progress ??= ProgressDisplay.Off;
        logger ??= NullLogger.Instance;
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), "a batch holds at least one image");
        RequireFit(bases, merged, matches);
        if (data.Count == 0) throw ZipItException.Input($"{Path.GetFileName(data.Path)}: a repair needs calibration images, and there are none");
        var plan = RepairPlan.For(merged.Model, merged.Graph, merged.Layout?.StopStage);
        foreach (var why in plan.Skipped.Distinct()) logger.LogDebug("repair leaves out {Site}", why);
        if (plan.Sites.Count == 0)
        {
            logger.LogInformation("repair: no merged unit to correct ({Config}: every merged layer is normalised by a BatchNorm, which is reset, or has nothing to fold a correction into)",
                merged.Config);
            return new RepairReport([], plan.Skipped, 0, data.Count);
        }

        var targets = Targets(bases, plan.Sites, matches, data, batchSize, cancellation, progress);
        var parameters = merged.Model.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        var saved = plan.Sites.SelectMany(s => s.Scaled.Append(s.Shift)).Select(a => a.Tensor).Distinct()
            .Select(k => (Live: parameters.TryGetValue(k, out var p) ? p : throw new ArgumentException($"repair: the merged model has no parameter '{k}'"), Copy: p.detach().clone()))
            .ToList();
        var passes = bases.Count;
        var results = new List<SiteRepair>();
        try
        {
            var order = RunOrder(merged, plan.Sites, data);
            for (var k = 0; k < order.Count; k++)
            {
                cancellation.ThrowIfCancellationRequested();
                var group = order[k];
                var moments = group.Select(s => (Site: s, Moments: new UnitMoments(s.Units))).ToList();
                try
                {
                    using (new SiteCapture(merged.Model, moments))
                        Pass(merged.Model, group[0].Stage, merged.Device, data, batchSize, cancellation, progress, $"repair {group[0].Module}, {k + 1}/{order.Count}");
                    passes++;
                    foreach (var (site, m) in moments)
                    {
                        var (targetMean, targetStd) = targets[site];
                        using var mean = m.Mean();
                        using var std = m.Std();
                        RequireFinite(site, mean, std);
                        using var correction = AffineCorrection.For(mean, std, targetMean, targetStd);
                        correction.FoldInto(site, parameters);
                        results.Add(new SiteRepair(site.Name, site.Space, site.Kind, site.Units, correction.ConstantUnits, StdRatio(std, targetStd)));
                    }
                }
                finally
                {
                    foreach (var (_, m) in moments) m.Dispose();
                }
            }
        }
        catch
        {
            using var _ = torch.no_grad();
            foreach (var (live, copy) in saved) live.copy_(copy);
            throw;
        }
        finally
        {
            foreach (var (_, copy) in saved) copy.Dispose();
            foreach (var (mean, std) in targets.Values)
            {
                mean.Dispose();
                std.Dispose();
            }
        }
        var report = new RepairReport(results, plan.Skipped, passes, data.Count);
        logger.LogInformation("repair: corrected {Units} units at {Sites} sites on {Images} images in {Passes} passes; merged/target spread before: {Ratio:0.###} (site mean){Constant}",
            report.Units, results.Count, data.Count, passes, results.Average(r => r.StdRatio),
            results.Sum(r => r.ConstantUnits) is var c and > 0 ? $"; {c} constant units only shifted" : "");
        foreach (var r in results)
            logger.LogDebug("repair {Site} ({Space}): {Units} units, spread {Ratio:0.###} of the target's, {Constant} constant", r.Site, r.Space, r.Units, r.StdRatio, r.ConstantUnits);
        return report;
    }

    /// <summary>Exit 3 unless <paramref name="merged"/> is the zip of <paramref name="bases"/> by <paramref name="matches"/> (see <see cref="ZippedFrom"/>).</summary>
    public static void RequireFit(IReadOnlyList<LoadedModel> bases, LoadedModel merged, IReadOnlyDictionary<string, MatchResult> matches) =>
        ZippedFrom.Require(bases, merged, matches, "a repair");

    /// <summary>
    /// Each site's target mean and standard deviation [L] (float64, CPU): the base models'
    /// statistics of the same channels combined by the point's merge matrix, one pass per base model.
    /// </summary>
    private static Dictionary<RepairSite, (Tensor Mean, Tensor Std)> Targets(IReadOnlyList<LoadedModel> bases, IReadOnlyList<RepairSite> sites,
        IReadOnlyDictionary<string, MatchResult> matches, TensorDataset data, int batchSize, CancellationToken cancellation, ProgressDisplay progress)
    {
        var perModel = bases.Select(_ => sites.Select(s => (Site: s, Moments: new UnitMoments(s.Units))).ToList()).ToList();
        var targets = new Dictionary<RepairSite, (Tensor Mean, Tensor Std)>();
        try
        {
            var last = sites.Max(s => s.Stage);
            for (var i = 0; i < bases.Count; i++)
            {
                using var capture = new SiteCapture(bases[i].Model, perModel[i]);
                Pass(bases[i].Model, last, bases[i].Device, data, batchSize, cancellation, progress, $"repair targets from {bases[i].Name}");
            }
            foreach (var (site, j) in sites.Select((s, j) => (s, j)))
            {
                using var scope = torch.NewDisposeScope();
                // M̃ [C, N·C] times the base units' statistics stacked in model order [N·C].
                var merge = matches[site.Space].Merge.to(ScalarType.Float64).cpu();
                var means = torch.cat(perModel.Select(m => m[j].Moments.Samples == 0 ? throw NeverRan(site) : m[j].Moments.Mean()).ToList());
                var stds = torch.cat(perModel.Select(m => m[j].Moments.Std()).ToList());
                RequireFinite(site, means, stds);
                if (merge.shape[1] != means.shape[0])
                    throw new ArgumentException($"repair {site}: the merge matrix of '{site.Space}' is [{string.Join(",", merge.shape)}], the base statistics have {means.shape[0]} units");
                targets[site] = (torch.mv(merge, means).DetachFromDisposeScope(), torch.mv(merge, stds).DetachFromDisposeScope());
            }
            return targets;
        }
        catch
        {
            foreach (var (mean, std) in targets.Values)
            {
                mean.Dispose();
                std.Dispose();
            }
            throw;
        }
        finally
        {
            foreach (var list in perModel) foreach (var (_, m) in list) m.Dispose();
        }
    }

    /// <summary>
    /// The sites grouped by module, in the order the modules run in the merged model on one image
    /// (whatever order they were registered or declared in); modules that never run are refused.
    /// </summary>
    private static IReadOnlyList<IReadOnlyList<RepairSite>> RunOrder(LoadedModel merged, IReadOnlyList<RepairSite> sites, TensorDataset data)
    {
        var modules = merged.Model.named_modules().ToDictionary(m => m.name, m => m.module);
        var order = new List<string>();
        var removers = new List<Action>();
        try
        {
            foreach (var module in sites.Select(s => s.Module).Distinct())
            {
                var hookable = modules.GetValueOrDefault(module) as nn.Module<Tensor, Tensor>
                               ?? throw new ArgumentException($"repair: module '{module}' is not a Module<Tensor, Tensor> of this model");
                removers.Add(hookable.register_forward_hook((_, _, _) =>
                {
                    if (!order.Contains(module)) order.Add(module);
                    return null!;
                }).remove);
            }
            merged.Model.eval();
            using var _ = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            merged.Model.forward_stages(data.Images.narrow(0, 0, 1).to(merged.Device), 0, sites.Max(s => s.Stage) + 1);
        }
        finally
        {
            foreach (var remove in removers) remove();
        }
        if (sites.FirstOrDefault(s => !order.Contains(s.Module)) is { } idle) throw NeverRan(idle);
        return order.Select(m => (IReadOnlyList<RepairSite>)sites.Where(s => s.Module == m).ToList()).ToList();
    }

    /// <summary>One pass of <paramref name="model"/> over <paramref name="data"/>, through stages 0..<paramref name="lastStage"/>.</summary>
    private static void Pass(StagedModel model, int lastStage, Device device, TensorDataset data, int batchSize, CancellationToken cancellation,
        ProgressDisplay progress, string label)
    {
        model.eval();
        using var _ = torch.no_grad();
        progress.Over(label, data.Batches(batchSize).Select(b => b.Images), ProgressDisplay.Batches(data.Count, batchSize), batches =>
        {
            foreach (var batch in batches)
            {
                cancellation.ThrowIfCancellationRequested();
                using var scope = torch.NewDisposeScope();
                model.forward_stages(batch.to(device), 0, lastStage + 1);
            }
            return 0;
        });
    }

    private static void RequireFinite(RepairSite site, Tensor mean, Tensor std)
    {
        if (!mean.isfinite().all().item<bool>() || !std.isfinite().all().item<bool>())
            throw ZipItException.Input($"repair {site}: the units' statistics on the calibration images are not finite (an activation overflowed)");
    }

    private static ArgumentException NeverRan(RepairSite site) =>
        new($"repair: module '{site.Module}' never ran during a forward pass, so its units have no statistics");

    /// <summary>The mean of σ/σ* over the units with σ* &gt; 0 (1 when there are none).</summary>
    private static double StdRatio(Tensor std, Tensor targetStd)
    {
        using var scope = torch.NewDisposeScope();
        var spread = targetStd > 0;
        return spread.any().item<bool>() ? (std.masked_select(spread) / targetStd.masked_select(spread)).mean().item<double>() : 1.0;
    }
}
