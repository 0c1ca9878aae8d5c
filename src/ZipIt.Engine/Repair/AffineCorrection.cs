using TorchSharp;
using static TorchSharp.torch;

namespace ZipIt.Engine.Repair;

/// <summary>
/// The per-unit correction y' = a·y + c that moves a merged unit with mean μ and standard
/// deviation σ to the target μ*, σ*: a = σ*/σ, c = μ* − a·μ, so y' has mean μ* and standard
/// deviation σ* exactly (float64; the folded float32 weights round it). A constant unit (σ at most
/// <see cref="ConstantTolerance"/> of its root mean square, or zero) cannot be scaled to any
/// spread: it keeps a = 1 and is only shifted to μ*, so no division by a vanishing σ and no NaN. A
/// target σ* of 0 (every matched base unit constant) gives a = 0: the unit becomes the constant μ*.
/// </summary>
/// <param name="Scale">a [L], float64.</param>
/// <param name="Shift">c [L], float64.</param>
/// <param name="ConstantUnits">How many units were constant (a = 1).</param>
internal sealed record AffineCorrection(Tensor Scale, Tensor Shift, long ConstantUnits) : IDisposable
{
    /// <summary>
    /// 2⁻²⁰ (about 1e-6): a spread below this fraction of a unit's magnitude is float32 rounding of a
    /// constant (about 6e-8 per operation), not a signal to scale up.
    /// </summary>
    public const double ConstantTolerance = 1.0 / (1 << 20);

    /// <param name="mean">μ [L], float64.</param>
    /// <param name="std">σ [L], float64.</param>
    /// <param name="targetMean">μ* [L], float64.</param>
    /// <param name="targetStd">σ* [L], float64, ≥ 0.</param>
    public static AffineCorrection For(Tensor mean, Tensor std, Tensor targetMean, Tensor targetStd)
    {
        var units = mean.shape[0];
        foreach (var t in new[] { std, targetMean, targetStd })
            if (t.dim() != 1 || t.shape[0] != units) throw new ArgumentException($"statistics of {units} units expected, got [{string.Join(",", t.shape)}]");
        using var scope = torch.NewDisposeScope();
        var rms = (mean.square() + std.square()).sqrt();
        var constant = std <= rms * ConstantTolerance;
        var scale = torch.where(constant, torch.ones_like(std), targetStd / torch.where(constant, torch.ones_like(std), std));
        var shift = targetMean - scale * mean;
        var count = constant.sum().item<long>();
        return new AffineCorrection(scale.DetachFromDisposeScope(), shift.DetachFromDisposeScope(), count);
    }

    /// <summary>
    /// Folds the correction into <paramref name="site"/>'s parameters in <paramref name="parameters"/>
    /// (state-dict keys), in place: each scaled axis's slice times a, the bias slice a·b + c.
    /// </summary>
    public void FoldInto(RepairSite site, IReadOnlyDictionary<string, Tensor> parameters)
    {
        var units = site.Units;
        if (Scale.shape[0] != units) throw new ArgumentException($"{site}: a correction of {Scale.shape[0]} units for {units}");
        Tensor Slice(TensorAxis axis)
        {
            var t = parameters.TryGetValue(axis.Tensor, out var p) ? p : throw new ArgumentException($"{site}: the model has no parameter '{axis.Tensor}'");
            if (axis.Axis < 0 || axis.Axis >= t.dim() || axis.Offset < 0 || axis.Offset + units > t.shape[axis.Axis])
                throw new ArgumentException($"{site}: {axis} does not fit '{axis.Tensor}' [{string.Join(",", t.shape)}]");
            return t.narrow(axis.Axis, axis.Offset, units);
        }
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        foreach (var axis in site.Scaled)
        {
            var slice = Slice(axis);
            var shape = Enumerable.Repeat(1L, (int)slice.dim()).ToArray();
            shape[axis.Axis] = units;
            slice.copy_(slice.to(ScalarType.Float64) * Scale.to(slice.device).reshape(shape));
        }
        var bias = Slice(site.Shift);
        bias.copy_(bias.to(ScalarType.Float64) * Scale.to(bias.device) + Shift.to(bias.device));
    }

    public void Dispose()
    {
        Scale.Dispose();
        Shift.Dispose();
    }
}
