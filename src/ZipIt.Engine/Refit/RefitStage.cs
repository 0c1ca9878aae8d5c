using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using NormBase = TorchSharp.Modules.NormBase;
using Linear = TorchSharp.Modules.Linear;
using Conv2d = TorchSharp.Modules.Conv2d;
using ZipIt.Engine.Core;
using ZipIt.Engine.Data;
using ZipIt.Engine.Models;
using ZipIt.Engine.Output;
using ZipIt.Engine.ResetBn;
using ZipIt.Engine.Zip;
using static TorchSharp.torch;

namespace ZipIt.Engine.Refit;

/// <summary>
/// The refit stage (PLeaS's least-squares merge, in closed form): after a zip, every conv and
/// linear layer of the merged trunk is re-solved so that, on the calibration images, it maps its
/// merged-layout inputs to the merged-layout targets the base models produce,
/// y = Σᵢ M̃ᵢ yᵢ (yᵢ model i's output of the layer, M̃ᵢ its block of the output point's merge
/// matrix; a convolution's output before any BatchNorm that follows it), by a ridge solve towards
/// the zip's weights (<see cref="RidgeSolve"/>). Any matcher's result can be refit: the stage needs
/// only the merged model, the base models, the merge matrices and images.
/// </summary>
/// <remarks>
/// <para>Teacher-forced (<see cref="RefitVariant.Teacher"/>): a layer's inputs are the base models'
/// inputs mapped the same way, x = Σᵢ M̃ᵢ xᵢ, so every layer's moments come from one pass of the base
/// models (run stage by stage in step, so that a batch holds one stage's activations), and the
/// merged model is not run. Sequential (<see cref="RefitVariant.Sequential"/>): a layer's inputs are
/// the merged model's own, after every layer before it was refit, which costs one pass of the base
/// models and the merged model per layer (through the stages up to the layer's). A BatchNorm that
/// normalises a refit layer's output directly then gets that output's mean and (unbiased) variance
/// over the calibration rows, computed from the layer's moments without another pass, so that the
/// next layers see what a BatchNorm reset would give them.</para>
/// <para>BatchNorm: the targets are pre-BatchNorm outputs, the frame the zip's weights W* live in (so
/// the ridge pulls towards weights of the same scale and the error before and after compare the
/// same quantity), and the merged model's BatchNorm statistics are reset afterwards as after any
/// zip. Partial zips: only trunk layers are refit; each model's head is its own and is left as it
/// is. Nothing is changed in the merged model unless every layer is solved: a failure or a
/// cancellation leaves its weights as they were.</para>
/// </remarks>
internal static class RefitStage
{
    /// <summary>
    /// The most float64 elements of least-squares rows (inputs and targets) formed at once: 64 MiB,
    /// e.g. 14 images of a 64-channel 3×3 convolution on 32×32 maps.
    /// </summary>
    public const long ChunkElements = 1L << 23;

    /// <summary>Refits <paramref name="merged"/> in place from <paramref name="bases"/> (the models it was zipped from, in match order).</summary>
    /// <param name="matches">The merge matrices of every point the zip merged, M [C, N·C].</param>
    /// <param name="data">Calibration images, the same for every model.</param>
    /// <param name="solved">Called after each layer's solve (progress, logging).</param>
    public static RefitReport Run(IReadOnlyList<LoadedModel> bases, LoadedModel merged, IReadOnlyDictionary<string, MatchResult> matches, TensorDataset data,
        int batchSize, RefitOptions options, CancellationToken cancellation = default, ProgressDisplay? progress = null, ILogger? logger = null,
        long? maxMemory = null, Action<LayerRefit>? solved = null)
    {
        progress ??= ProgressDisplay.Off;
        logger ??= NullLogger.Instance;
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), "a batch holds at least one image");
        RefitOptions.RequireRidge(options.Ridge, options.RidgeOption);
        var stop = merged.Layout?.StopStage;
        RequireFit(bases, merged, matches);
        if (data.Count == 0) throw ZipItException.Input($"{Path.GetFileName(data.Path)}: a refit needs calibration images, and there are none");
        var plan = RefitPlan.For(merged.Model, merged.Graph, stop);
        foreach (var why in plan.Skipped) logger.LogWarning("refit: {Layer}; it keeps the zip's weights", why);
        if (plan.Layers.Count == 0) throw ZipItException.Input($"{Path.GetFileName(merged.Path)}: {merged.Config} has no conv or linear layer a refit can solve for");
        var perLayer = plan.Layers.Select(l => LayerMoments.BytesFor(l.Features, l.OutChannels)).ToList();
        MemoryEstimate.RequireAvailable((options.Variant == RefitVariant.Teacher ? perLayer.Sum() : perLayer.Max()) + 16 * ChunkElements,
            $"refit of {plan.Layers.Count} layers of {merged.Config}", maxMemory);

        var points = Zipper.PointsUpTo(merged.Graph, stop).ToDictionary(p => p.Name, p => matches[p.Name]);
        using var layout = new MergedLayout(points, bases.Count, merged.Device);
        var seconds = new RefitSeconds();
        var report = options.Variant == RefitVariant.Teacher
            ? TeacherForced(bases, merged, plan, layout, data, batchSize, options, seconds, cancellation, progress, solved)
            : Sequential(bases, merged, plan, layout, data, batchSize, options, seconds, cancellation, progress, solved);
        var (before, after) = report.MeanRelativeError;
        logger.LogInformation("refit {Layers} layers ({Variant}, ridge {Ridge}) on {Images} images in {Passes} pass(es): squared error relative to the targets {Before:0.####} → {After:0.####} (layer mean)",
            report.Layers.Count, RefitOptions.Name(options.Variant), options.Ridge.ToString("G", CultureInfo.InvariantCulture), data.Count, report.Passes, before, after);
        logger.LogInformation("refit seconds: forward passes {Forward:0.0}, moments {Moments:0.0}, solves {Solves:0.0}", seconds.Forward, seconds.Moments, seconds.Solves);
        foreach (var l in report.Layers)
            logger.LogDebug("refit {Layer}: {Samples} rows × {Features} features, λ' {Ridge:G3}, error {Before:G4} → {After:G4} of {Energy:G4}",
                l.Layer, l.Samples, l.Features, l.Ridge, l.ErrorBefore, l.ErrorAfter, l.TargetSquares);
        var thin = report.Layers.Where(l => l.Samples < l.Features).Select(l => l.Layer).ToList();
        if (thin.Count > 0)
            logger.LogWarning("refit: {Count} layer(s) had fewer calibration samples than features ({Layers}); the ridge decided the rest (more images would fit them better)",
                thin.Count, string.Join(", ", thin.Take(5)) + (thin.Count > 5 ? ", …" : ""));
        return report;
    }

    /// <summary>Exit 3 unless <paramref name="merged"/> is the zip of <paramref name="bases"/> by <paramref name="matches"/> (see <see cref="ZippedFrom"/>).</summary>
    public static void RequireFit(IReadOnlyList<LoadedModel> bases, LoadedModel merged, IReadOnlyDictionary<string, MatchResult> matches) =>
        ZippedFrom.Require(bases, merged, matches, "a refit");

    private static RefitReport TeacherForced(IReadOnlyList<LoadedModel> bases, LoadedModel merged, RefitPlan plan, MergedLayout layout, TensorDataset data,
        int batchSize, RefitOptions options, RefitSeconds seconds, CancellationToken cancellation, ProgressDisplay progress, Action<LayerRefit>? solved)
    {
        var moments = plan.Layers.ToDictionary(l => l.Name, l => new LayerMoments(l.Features, l.OutChannels));
        var solutions = new List<(RefitLayer Layer, Tensor Weights)>();
        try
        {
            using (var capture = new LayerCapture(layout))
            {
                for (var i = 0; i < bases.Count; i++) capture.Attach(bases[i].Model, plan.Layers, i, inputs: true, outputs: true);
                Pass(bases.Select(b => b.Model).ToList(), plan.Layers.Max(l => l.Stage), merged.Device, data, batchSize, capture, plan.Layers, moments, seconds,
                    cancellation, progress, $"refit (teacher-forced) from {bases.Count} models");
            }
            var results = new List<LayerRefit>();
            var skipped = plan.Skipped.ToList();
            var parameters = Parameters(merged.Model);
            foreach (var layer in plan.Layers)
            {
                cancellation.ThrowIfCancellationRequested();
                var m = moments[layer.Name];
                if (m.Samples == 0)
                {
                    skipped.Add($"{layer.Name}: it never ran during a forward pass");
                    continue;
                }
                var (weight, bias) = parameters(layer);
                var (result, theta) = seconds.TimeSolve(() => Solve(layer, m, weight, bias, options));
                solutions.Add((layer, theta));
                results.Add(result);
                solved?.Invoke(result);
            }
            // Every layer solved: only now is the merged model changed.
            foreach (var (layer, theta) in solutions)
            {
                var (weight, bias) = parameters(layer);
                layer.Assign(theta, weight, bias);
            }
            return new RefitReport(options, results, skipped, Passes: 1);
        }
        finally
        {
            foreach (var m in moments.Values) m.Dispose();
            foreach (var (_, t) in solutions) t.Dispose();
        }
    }

    private static RefitReport Sequential(IReadOnlyList<LoadedModel> bases, LoadedModel merged, RefitPlan plan, MergedLayout layout, TensorDataset data,
        int batchSize, RefitOptions options, RefitSeconds seconds, CancellationToken cancellation, ProgressDisplay progress, Action<LayerRefit>? solved)
    {
        var (order, normalisers) = Probe(merged, plan.Layers, data);
        var parameters = Parameters(merged.Model);
        // What a failure or a cancellation restores: every refit weight and every BatchNorm statistic the refit sets.
        var saved = new List<(Tensor Live, Tensor Copy)>();
        foreach (var layer in order)
        {
            var (weight, bias) = parameters(layer);
            saved.Add((weight, weight.detach().clone()));
            if (bias is not null) saved.Add((bias, bias.detach().clone()));
            if (normalisers.TryGetValue(layer.Name, out var bn))
            {
                saved.Add((bn.running_mean!, bn.running_mean!.clone()));
                saved.Add((bn.running_var!, bn.running_var!.clone()));
            }
        }
        var results = new List<LayerRefit>();
        var skipped = plan.Skipped.ToList();
        var passes = 0;
        var models = bases.Select(b => b.Model).Append(merged.Model).ToList();
        try
        {
            for (var k = 0; k < order.Count; k++)
            {
                cancellation.ThrowIfCancellationRequested();
                var layer = order[k];
                using var moments = new LayerMoments(layer.Features, layer.OutChannels);
                using (var capture = new LayerCapture(layout))
                {
                    for (var i = 0; i < bases.Count; i++) capture.Attach(bases[i].Model, [layer], i, inputs: false, outputs: true);
                    capture.Attach(merged.Model, [layer], null, inputs: true, outputs: false);
                    Pass(models, layer.Stage, merged.Device, data, batchSize, capture, [layer], new Dictionary<string, LayerMoments> { [layer.Name] = moments },
                        seconds, cancellation, progress, $"refit (sequential) {layer.Name}, layer {k + 1}/{order.Count}");
                    passes++;
                }
                if (moments.Samples == 0)
                {
                    skipped.Add($"{layer.Name}: it never ran during a forward pass");
                    continue;
                }
                var (weight, bias) = parameters(layer);
                var (result, theta) = seconds.TimeSolve(() => Solve(layer, moments, weight, bias, options));
                using (theta)
                {
                    layer.Assign(theta, weight, bias);
                    if (normalisers.TryGetValue(layer.Name, out var bn)) SetStatistics(bn, moments, theta);
                }
                results.Add(result);
                solved?.Invoke(result);
            }
            return new RefitReport(options, results, skipped, passes);
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
        }
    }

    /// <summary>One layer's solve and its errors before and after on its rows; the caller owns the weights.</summary>
    private static (LayerRefit Result, Tensor Weights) Solve(RefitLayer layer, LayerMoments moments, Tensor weight, Tensor? bias, RefitOptions options)
    {
        using var prior = layer.Unknowns(weight, bias);
        var solution = RidgeSolve.Solve(moments, prior, layer.Weights, options.Ridge, layer.Name, options.RidgeOption);
        var result = new LayerRefit(layer.Name, moments.Samples, layer.Features, solution.Ridge, moments.SquaredError(prior), moments.SquaredError(solution.Weights),
            moments.TargetSquares);
        return (result, solution.Weights);
    }

    /// <summary>
    /// One pass over <paramref name="data"/>: <paramref name="models"/> run in step, stage by stage
    /// up to <paramref name="lastStage"/>, and after each stage every layer whose inputs and targets
    /// are complete adds its rows to its moments; a batch holds one stage's captures.
    /// </summary>
    private static void Pass(IReadOnlyList<StagedModel> models, int lastStage, Device device, TensorDataset data, int batchSize, LayerCapture capture,
        IReadOnlyList<RefitLayer> layers, IReadOnlyDictionary<string, LayerMoments> moments, RefitSeconds seconds, CancellationToken cancellation, ProgressDisplay progress,
        string label)
    {
        foreach (var m in models) m.eval();
        using var _ = torch.no_grad();
        progress.Over(label, data.Batches(batchSize).Select(b => b.Images), ProgressDisplay.Batches(data.Count, batchSize), batches =>
        {
            foreach (var batch in batches)
            {
                cancellation.ThrowIfCancellationRequested();
                using var scope = torch.NewDisposeScope();
                var input = batch.to(device);
                var states = models.Select(_ => input).ToArray();
                for (var s = 0; s <= lastStage; s++)
                {
                    for (var j = 0; j < models.Count; j++)
                    {
                        var next = seconds.TimeForward(() => models[j].forward_stage(s, states[j]));
                        if (!ReferenceEquals(states[j], input) && !ReferenceEquals(states[j], next)) states[j].Dispose();
                        states[j] = next;
                    }
                    seconds.TimeMoments(() => Flush(capture, layers, moments));
                }
            }
            return 0;
        });
    }

    /// <summary>Adds every layer's complete captures of this batch to its moments.</summary>
    private static void Flush(LayerCapture capture, IReadOnlyList<RefitLayer> layers, IReadOnlyDictionary<string, LayerMoments> moments)
    {
        foreach (var layer in layers)
        {
            var pairs = capture.Take(layer);
            try
            {
                foreach (var (input, target) in pairs) layer.ForEachRows(input, target, ChunkElements, moments[layer.Name].Add);
            }
            finally
            {
                foreach (var (input, target) in pairs)
                {
                    input.Dispose();
                    target.Dispose();
                }
            }
        }
    }

    /// <summary>
    /// One image through the merged model, watching its layers: the order in which they run (the
    /// order a sequential refit must follow, whatever the modules' registration order) and, for each,
    /// the BatchNorm whose input is that layer's output, if any.
    /// </summary>
    private static (IReadOnlyList<RefitLayer> Order, IReadOnlyDictionary<string, NormBase> Normalisers) Probe(LoadedModel merged, IReadOnlyList<RefitLayer> layers, TensorDataset data)
    {
        var modules = merged.Model.named_modules().ToDictionary(m => m.name, m => m.module);
        var byName = layers.ToDictionary(l => l.Name);
        var order = new List<RefitLayer>();
        var normalisers = new Dictionary<string, NormBase>();
        var removers = new List<Action>();
        (IntPtr Handle, string Layer)? last = null;
        try
        {
            foreach (var layer in layers)
            {
                var hookable = (nn.Module<Tensor, Tensor>)modules[layer.Name];
                removers.Add(hookable.register_forward_pre_hook((_, x) =>
                {
                    if (!order.Contains(layer)) order.Add(layer);
                    return null!;
                }).remove);
                removers.Add(hookable.register_forward_hook((_, _, y) =>
                {
                    last = (y.Handle, layer.Name);
                    return null!;
                }).remove);
            }
            foreach (var bn in BatchNormReset.Layers(merged.Model))
            {
                if (bn is not nn.Module<Tensor, Tensor> hookable) continue;
                removers.Add(hookable.register_forward_pre_hook((_, x) =>
                {
                    // The tensor the last layer returned, handed straight on: BatchNorm(layer(x)).
                    if (last is { } l && l.Handle == x.Handle && !normalisers.ContainsKey(l.Layer)) normalisers[l.Layer] = bn;
                    last = null;
                    return null!;
                }).remove);
            }
            merged.Model.eval();
            using var _ = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            var stop = layers.Max(l => l.Stage);
            merged.Model.forward_stages(data.Images.narrow(0, 0, 1).to(merged.Device), 0, stop + 1);
        }
        finally
        {
            foreach (var remove in removers) remove();
        }
        // Layers that did not run keep their module order at the end (they are reported as never run).
        order.AddRange(layers.Where(l => !order.Contains(l)));
        return (order, normalisers);
    }

    /// <summary>
    /// Sets <paramref name="bn"/>'s running statistics to the mean and unbiased variance, over the
    /// calibration rows, of the output of the refit layer it normalises: for channel c,
    /// z_c = θ_cᵀ x, mean Σ z_c / n = θ_cᵀ s / n and Σ z_c² = θ_cᵀ G θ_c, from the layer's moments.
    /// </summary>
    private static void SetStatistics(NormBase bn, LayerMoments moments, Tensor theta)
    {
        var n = moments.Samples;
        if (n < 2 || bn.running_mean is null || bn.running_var is null || bn.running_mean.shape[0] != theta.shape[1]) return;
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var mean = torch.mv(theta.t(), moments.Sum) / n;
        var squares = (torch.mm(moments.Gram, theta) * theta).sum([0]);
        var variance = ((squares - n * mean * mean) / (n - 1)).clamp_min(0);
        bn.running_mean.copy_(mean.to(bn.running_mean.dtype));
        bn.running_var.copy_(variance.to(bn.running_var.dtype));
    }

    /// <summary>A layer's weight and bias parameters in <paramref name="model"/>.</summary>
    private static Func<RefitLayer, (Tensor Weight, Tensor? Bias)> Parameters(nn.Module model)
    {
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);
        return layer => modules[layer.Name] switch
        {
            Linear l => (l.weight!, l.bias),
            Conv2d c => (c.weight, c.bias),
            var m => throw new InvalidOperationException($"layer '{layer.Name}' is a {m.GetType().Name}"),
        };
    }
}
