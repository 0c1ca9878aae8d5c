using TorchSharp;
using static TorchSharp.torch;

namespace ZipIt.Engine.Refit;

/// <summary>
/// The sufficient statistics of one layer's least-squares problem over the calibration samples,
/// summed in float64: the Gram G = Σ x xᵀ of the input rows x (features, and a constant 1 for the
/// bias), the cross-moment H = Σ x yᵀ with the target rows y, Σ x, Σ ‖y‖² and the row count. Enough
/// to solve for the weights and to score any weights' squared error without another pass.
/// </summary>
/// <remarks>
/// The Gram is the expensive part (rows × features² multiply-adds, in float64). It is one full
/// product per batch: multiplying only the chunks on and above the diagonal, as the collect
/// stage's float32 covariance does, was slower here (measured on 2 shared, busy CPU cores: 2.3 s against 1.9 s
/// for 10,070 rows of 577 features, 7.7 s against 4.7 s for 3,275 rows of 2,305), as the blocks
/// are strided views of the Gram. A float64 product of XᵀX is symmetric only to rounding, so the
/// Gram is symmetrised ((G + Gᵀ)/2, the same both ways round) when it is read.
/// </remarks>
internal sealed class LayerMoments : IDisposable
{
    // Allocated on the first rows' device, so that a GPU run accumulates on the GPU (still float64).
    private Tensor? _gram;
    private Tensor? _cross;
    private Tensor? _targetSquares;
    private Tensor? _sum;
    private bool _symmetric = true;

    /// <param name="features">Features of an input row (with the constant 1, when there is one).</param>
    /// <param name="outputs">Entries of a target row.</param>
    public LayerMoments(long features, long outputs)
    {
        if (features < 1 || outputs < 1) throw new ArgumentException($"a least-squares problem of {features} features and {outputs} outputs");
        Features = features;
        Outputs = outputs;
    }

    public long Features { get; }
    public long Outputs { get; }

    /// <summary>Rows accumulated so far.</summary>
    public long Samples { get; private set; }

    /// <summary>G = Σ x xᵀ, [features, features] float64.</summary>
    public Tensor Gram
    {
        get
        {
            var gram = _gram ?? throw new InvalidOperationException("no rows were accumulated");
            if (!_symmetric)
            {
                using var _ = torch.no_grad();
                using var scope = torch.NewDisposeScope();
                gram.copy_((gram + gram.t()) / 2);
                _symmetric = true;
            }
            return gram;
        }
    }

    /// <summary>H = Σ x yᵀ, [features, outputs] float64.</summary>
    public Tensor Cross => _cross ?? throw new InvalidOperationException("no rows were accumulated");

    /// <summary>Σ x, [features] float64: with <see cref="Gram"/>, the mean and variance of any linear function of the inputs.</summary>
    public Tensor Sum => _sum ?? throw new InvalidOperationException("no rows were accumulated");

    /// <summary>Bytes the moments of a layer of <paramref name="features"/> features and <paramref name="outputs"/> outputs hold.</summary>
    public static long BytesFor(long features, long outputs) => 8 * (features * features + features * outputs + features + 1);

    /// <summary>Adds rows: <paramref name="inputs"/> [S, features] and <paramref name="targets"/> [S, outputs], float64.</summary>
    public void Add(Tensor inputs, Tensor targets)
    {
        if (inputs.dim() != 2 || targets.dim() != 2 || inputs.shape[1] != Features || targets.shape[1] != Outputs || inputs.shape[0] != targets.shape[0])
            throw new ArgumentException($"expected rows [S, {Features}] and [S, {Outputs}], got [{string.Join(",", inputs.shape)}] and [{string.Join(",", targets.shape)}]");
        if (inputs.dtype != ScalarType.Float64 || targets.dtype != ScalarType.Float64)
            throw new ArgumentException($"the rows must be float64, got {inputs.dtype} and {targets.dtype}");
        if (inputs.shape[0] == 0) return;
        var device = inputs.device;
        _gram ??= torch.zeros(Features, Features, ScalarType.Float64, device).DetachFromDisposeScope();
        _cross ??= torch.zeros(Features, Outputs, ScalarType.Float64, device).DetachFromDisposeScope();
        _targetSquares ??= torch.zeros(1, ScalarType.Float64, device).DetachFromDisposeScope();
        _sum ??= torch.zeros(Features, ScalarType.Float64, device).DetachFromDisposeScope();
        using var scope = torch.NewDisposeScope();
        var transposed = inputs.t();
        _gram.addmm_(transposed, inputs);
        _symmetric = false;
        _cross.addmm_(transposed, targets);
        _targetSquares.add_(targets.square().sum());
        _sum.add_(inputs.sum([0]));
        Samples += inputs.shape[0];
    }

    /// <summary>
    /// Σ ‖y − Θᵀx‖² for the weights <paramref name="theta"/> [features, outputs] (float64), from the
    /// moments: Σ ‖y‖² − 2 tr(Θᵀ H) + tr(Θᵀ G Θ).
    /// </summary>
    public double SquaredError(Tensor theta)
    {
        if (theta.dim() != 2 || theta.shape[0] != Features || theta.shape[1] != Outputs)
            throw new ArgumentException($"weights [{Features}, {Outputs}] are needed, got [{string.Join(",", theta.shape)}]");
        using var scope = torch.NewDisposeScope();
        var t = theta.to(ScalarType.Float64).to(Gram.device);
        var error = _targetSquares! - 2 * (t * Cross).sum() + (t * torch.mm(Gram, t)).sum();
        // Rounding can take an exact fit a hair below zero.
        return Math.Max(0, error.item<double>());
    }

    /// <summary>Σ ‖y‖²: the squared error of weights that output zero, the scale errors are compared to.</summary>
    public double TargetSquares => _targetSquares?.item<double>() ?? 0;

    public void Dispose()
    {
        _gram?.Dispose();
        _cross?.Dispose();
        _targetSquares?.Dispose();
        _sum?.Dispose();
        _gram = _cross = _targetSquares = _sum = null;
    }
}
