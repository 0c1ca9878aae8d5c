using TorchSharp;
using static TorchSharp.torch;

namespace ZipIt.Matching;

/// <summary>
/// Covariance → correlation, the similarity the built-in matchers work on:
/// σ_k = sqrt(max(Cov_kk, 0)), Corr_ij = Cov_ij / max(σ_i·σ_j, 1e-7).
/// </summary>
/// <remarks>
/// <para>Everything is computed in float32, element by element in the same order of operations as
/// the reference (float32 sqrt, float32 product, clamp of the product at float32(1e-7), float32
/// division), whatever the covariance's dtype: the reference's covariance is float32, and the greedy
/// matcher's argmax only reproduces the reference's choice between near-equal pairs when its inputs
/// are the same float32 numbers. A float64 covariance is rounded to float32 first.</para>
/// <para>Guards the reference lacks: a negative diagonal entry (cancellation in E[x²] − E[x]²) is
/// treated as 0 instead of producing NaN, so a dead or numerically dead unit correlates 0 with
/// everything; and an entry that still is not finite (a NaN or infinite covariance entry, or an
/// overflow) becomes 0, so no NaN can reach a matcher's argmax. Matchers reject non-finite
/// covariances before they get here; the guard is for other callers.</para>
/// </remarks>
public static class Correlation
{
    /// <summary>The clamp on σ_i·σ_j (applied to the product, not added).</summary>
    public const float ProductEpsilon = 1e-7f;

    /// <summary>The correlation of <paramref name="covariance"/> ([O, O], any floating dtype, any device) as a new float32 CPU tensor.</summary>
    /// <exception cref="ArgumentException">The covariance is not a square floating-point matrix.</exception>
    public static Tensor FromCovariance(Tensor covariance)
    {
        var size = SquareSize(covariance);
        var values = Compute(ReadFloat32(covariance), size);
        return torch.tensor(values, [size, size], ScalarType.Float32);
    }

    /// <summary>
    /// The correlation of a float32 covariance stored row-major in <paramref name="covariance"/> (size × size).
    /// Returns a new array; the input is not changed.
    /// </summary>
    public static float[] Compute(ReadOnlySpan<float> covariance, int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        if (covariance.Length != (long)size * size)
            throw new ArgumentException($"covariance has {covariance.Length} values, not {size}×{size}");

        var sigma = new float[size];
        for (var i = 0; i < size; i++)
        {
            var d = covariance[i * size + i];
            // NaN fails the comparison and stays NaN; the final guard turns its row and column into 0.
            sigma[i] = MathF.Sqrt(d < 0f ? 0f : d);
        }

        var result = new float[(long)size * size];
        for (var i = 0; i < size; i++)
        {
            var si = sigma[i];
            var row = i * size;
            for (var j = 0; j < size; j++)
            {
                var product = si * sigma[j];
                var denominator = product < ProductEpsilon ? ProductEpsilon : product;
                var c = covariance[row + j] / denominator;
                result[row + j] = float.IsFinite(c) ? c : 0f;
            }
        }
        return result;
    }

    /// <summary>Side of a square floating-point matrix; the message says what is wrong otherwise.</summary>
    internal static int SquareSize(Tensor covariance)
    {
        if (covariance.dim() != 2 || covariance.shape[0] != covariance.shape[1])
            throw new ArgumentException($"covariance must be a square matrix, got shape [{string.Join(", ", covariance.shape)}]");
        if (!torch.is_floating_point(covariance))
            throw new ArgumentException($"covariance must be floating point, got {covariance.dtype}");
        return checked((int)covariance.shape[0]);
    }

    /// <summary>The tensor's values as float32, row-major, without changing the tensor.</summary>
    internal static float[] ReadFloat32(Tensor tensor)
    {
        using var scope = torch.NewDisposeScope();
        var cpu = tensor.device_type == DeviceType.CPU ? tensor : tensor.cpu();
        // torch's float64 → float32 cast rounds to nearest, as the reference's float32 pipeline would.
        var single = cpu.dtype == ScalarType.Float32 ? cpu : cpu.to_type(ScalarType.Float32);
        return single.contiguous().data<float>().ToArray();
    }
}
