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
/// The Gram is the expensive part (rows × features², in float64): it is symmetric, so the
/// features are cut into chunks of at most <see cref="ChunkWidth"/> and only the chunk pairs on
/// and above the diagonal are multiplied (k(k+1)/2 of k² products: 45 of 81 for a 256-channel 3×3
/// convolution's 2,304 features); the blocks below are the transposes, filled in when the Gram is read.
/// </remarks>
internal sealed class LayerMoments : IDisposable
{
    /// <summary>The widest chunk of features multiplied at once (as the collect stage's covariance).</summary>
    public const int ChunkWidth = 256;

    private readonly (long Offset, long Length)[] _chunks;
    private bool _mirrored = true;

    // Allocated on the first rows' device, so that a GPU run accumulates on the GPU (still float64).
    private Tensor? _gram;
    private Tensor? _cross;
    private Tensor? _targetSquares;
    private Tensor? _sum;

    /// <param name="features">Features of an input row (with the constant 1, when there is one).</param>
    /// <param name="outputs">Entries of a target row.</param>
    public LayerMoments(long features, long outputs)
    {
        if (features < 1 || outputs < 1) throw new ArgumentException($"a least-squares problem of {features} features and {outputs} outputs");
        Features = features;
        Outputs = outputs;
        var pieces = (int)Math.Max(1, (features + ChunkWidth - 1) / ChunkWidth);
        _chunks = Enumerable.Range(0, pieces).Select(p => (features * p / pieces, features * (p + 1) / pieces - features * p / pieces)).ToArray();
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
            if (!_mirrored)
            {
                using var _ = torch.no_grad();
                using var scope = torch.NewDisposeScope();
                for (var i = 0; i < _chunks.Length; i++)
                {
                    // A diagonal block's product is symmetric only to rounding; (a + b)/2 is the same both ways round.
                    var diagonal = Block(gram, i, i);
                    diagonal.copy_((diagonal + diagonal.t()) / 2);
                    for (var j = i + 1; j < _chunks.Length; j++)
                        Block(gram, j, i).copy_(Block(gram, i, j).t());
                }
                _mirrored = true;
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
        for (var i = 0; i < _chunks.Length; i++)
        {
            var rows = inputs.narrow(1, _chunks[i].Offset, _chunks[i].Length).t();
            for (var j = i; j < _chunks.Length; j++)
                Block(_gram, i, j).addmm_(rows, inputs.narrow(1, _chunks[j].Offset, _chunks[j].Length));
        }
        _mirrored = false;
        _cross.addmm_(inputs.t(), targets);
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

    private Tensor Block(Tensor gram, int i, int j) =>
        gram.narrow(0, _chunks[i].Offset, _chunks[i].Length).narrow(1, _chunks[j].Offset, _chunks[j].Length);

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
