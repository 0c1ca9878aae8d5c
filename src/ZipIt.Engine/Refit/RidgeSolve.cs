using System.Globalization;
using TorchSharp;
using ZipIt.Engine.Core;
using static TorchSharp.torch;

namespace ZipIt.Engine.Refit;

/// <summary>
/// The closed-form refit of one layer: the weights Θ = [Wᵀ; bᵀ] that minimise
/// Σ ‖y − Θᵀx‖² + λ'·‖W − W*‖² over the calibration rows, W* the zip's weights and
/// λ' = λ·tr(G_w)/d the ridge relative to the mean diagonal of the Gram of the d weight inputs
/// (not the bias's constant 1). The normal equations (G + λ'·I_w) Θ = H + λ'·[W*ᵀ; 0] are solved
/// by a Cholesky factorisation in float64.
/// </summary>
/// <remarks>
/// Pulling towards W* rather than towards zero keeps what the data does not decide (constant or
/// dead input channels, more features than samples) at the zip's weights instead of shrinking it,
/// and it makes the refit never worse on its own calibration rows: Θ* itself is a candidate with no
/// penalty, so the minimiser's squared error is at most Θ*'s. The bias is not penalised: with any
/// λ' &gt; 0 the system stays positive definite (the constant column's Schur complement is
/// n − 1ᵀX(XᵀX + λ'I)⁻¹Xᵀ1 &gt; 0 for n ≥ 1 rows), and the mean of the targets is the data's to fit.
/// </remarks>
internal static class RidgeSolve
{
    /// <summary>The solution and the ridge it used.</summary>
    /// <param name="Weights">Θ [features, outputs], float64; the caller owns it.</param>
    /// <param name="Ridge">λ', the absolute ridge added to the weight inputs' diagonal.</param>
    public sealed record Solution(Tensor Weights, double Ridge);

    /// <param name="moments">The layer's moments.</param>
    /// <param name="prior">W* as unknowns [features, outputs] (<see cref="RefitLayer.Unknowns"/>).</param>
    /// <param name="weightInputs">d: the features that are weight inputs (all but a trailing bias constant).</param>
    /// <param name="ridge">λ ≥ 0, relative.</param>
    /// <param name="layer">The layer's name, for messages.</param>
    /// <param name="ridgeOption">The ridge's option, for messages.</param>
    public static Solution Solve(LayerMoments moments, Tensor prior, long weightInputs, double ridge, string layer, string ridgeOption = "--refit-ridge")
    {
        if (prior.dim() != 2 || prior.shape[0] != moments.Features || prior.shape[1] != moments.Outputs)
            throw new ArgumentException($"layer '{layer}': W* [{moments.Features}, {moments.Outputs}] is needed, got [{string.Join(",", prior.shape)}]");
        if (weightInputs < 1 || weightInputs > moments.Features || moments.Features - weightInputs > 1)
            throw new ArgumentException($"layer '{layer}': {weightInputs} weight inputs of {moments.Features} features");
        if (!(ridge >= 0) || !double.IsFinite(ridge)) throw new ArgumentException($"ridge {ridge}");
        if (moments.Samples == 0) throw ZipItException.Input($"refit: layer '{layer}' saw no calibration samples");
        using var scope = torch.NewDisposeScope();
        var gram = moments.Gram;
        var weightDiagonal = gram.diagonal().narrow(0, 0, weightInputs);
        var trace = weightDiagonal.sum().item<double>();
        // All-zero inputs (every channel dead) leave nothing to scale by: any λ' > 0 then keeps W*.
        var absolute = ridge * (trace > 0 ? trace / weightInputs : 1.0);
        var system = gram.clone();
        system.diagonal().narrow(0, 0, weightInputs).add_(absolute);
        var rhs = moments.Cross.clone();
        if (absolute > 0) rhs.narrow(0, 0, weightInputs).add_(prior.narrow(0, 0, weightInputs).to(rhs.device).to(ScalarType.Float64), alpha: absolute);
        var (factor, info) = torch.linalg.cholesky_ex(system);
        // A rank-deficient Gram can factor with pivots that are only rounding: a pivot below
        // MinPivot of the largest diagonal entry is taken for zero, as no data decided it.
        var singular = info.item<int>() != 0 || (ridge == 0 && moments.Samples < moments.Features);
        if (!singular)
        {
            var pivots = factor.diagonal().square();
            singular = pivots.min().item<double>() < MinPivot * system.diagonal().max().item<double>();
        }
        if (singular)
            throw ZipItException.Input(
                $"refit: layer '{layer}': the Gram of its inputs is singular ({Count(moments.Samples)} calibration samples for {Count(moments.Features)} features" +
                (moments.Samples < moments.Features ? ", fewer samples than features" : ", constant or linearly dependent inputs") +
                (ridge == 0 ? $"); give a ridge above 0 ({ridgeOption}) or more calibration images" : $", ridge {ridge.ToString("G", CultureInfo.InvariantCulture)}); give a larger ridge ({ridgeOption})"));
        var solution = torch.cholesky_solve(rhs, factor);
        if (!solution.isfinite().all().item<bool>())
            throw ZipItException.Input($"refit: layer '{layer}': the solve gave non-finite weights (ridge {ridge.ToString("G", CultureInfo.InvariantCulture)}); give a larger ridge ({ridgeOption})");
        return new Solution(solution.MoveToOuterDisposeScope(), absolute);
    }

    /// <summary>
    /// The smallest squared pivot of the factorisation, relative to the system's largest diagonal
    /// entry, that counts as information rather than float64 rounding (about 2⁻⁴³: a thousand times
    /// the rounding of a sum of that many products).
    /// </summary>
    public const double MinPivot = 1e-13;

    private static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
}
