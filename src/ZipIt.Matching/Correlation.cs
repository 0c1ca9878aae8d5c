using System.Runtime.InteropServices;
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
/// are the same float32 numbers. A float64 covariance is rounded to float32 (to nearest) first.
/// The square root is IEEE's (correctly rounded, as CUDA's); libtorch's vectorised CPU kernel can be
/// one ulp off it, which moves a correlation by an ulp or two. The reference fixtures come out the
/// same either way.</para>
/// <para>Guards the reference lacks: a negative diagonal entry (cancellation in E[x²] − E[x]²) is
/// treated as 0 instead of producing NaN, so a dead or numerically dead unit correlates 0 with
/// everything; and an entry that still is not finite (a NaN or infinite covariance entry, or an
/// overflow) becomes 0, so no NaN can reach a matcher's argmax. The built-in matchers reject
/// non-finite covariances before they get here; the guard is for other callers.</para>
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
        return torch.tensor(Compute(covariance), [size, size], ScalarType.Float32);
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
        var result = new float[(long)size * size];
        Fill(covariance, size, Sigmas(covariance, size), 0, size, 0, size, result);
        return result;
    }

    /// <summary>The whole correlation matrix, row-major, read straight from the tensor's memory.</summary>
    public static float[] Compute(Tensor covariance)
    {
        var size = SquareSize(covariance);
        var result = new float[(long)size * size];
        Read(covariance, (single, wide) =>
        {
            if (wide.IsEmpty) Fill(single, size, Sigmas(single, size), 0, size, 0, size, result);
            else Fill(wide, size, Sigmas(wide, size), 0, size, 0, size, result);
        });
        return result;
    }

    /// <summary>The block rows [row0, row0 + rows) × columns [column0, column0 + columns) of the correlation, row-major.</summary>
    public static float[] Block(Tensor covariance, int row0, int rows, int column0, int columns)
    {
        var size = SquareSize(covariance);
        var result = new float[(long)rows * columns];
        Read(covariance, (single, wide) =>
        {
            if (wide.IsEmpty) Fill(single, size, Sigmas(single, size), row0, rows, column0, columns, result);
            else Fill(wide, size, Sigmas(wide, size), row0, rows, column0, columns, result);
        });
        return result;
    }

    /// <summary>How many entries are NaN or infinite once rounded to float32 (the precision the matchers work in).</summary>
    public static long CountNonFinite(Tensor covariance)
    {
        long count = 0;
        Read(covariance, (single, wide) =>
        {
            if (wide.IsEmpty)
                foreach (var v in single) { if (!float.IsFinite(v)) count++; }
            else
                foreach (var v in wide) { if (!float.IsFinite((float)v)) count++; }
        });
        return count;
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

    private delegate void Reader(ReadOnlySpan<float> single, ReadOnlySpan<double> wide);

    /// <summary>
    /// Hands the tensor's values to <paramref name="reader"/> in place (float32 or float64, whichever it
    /// is), copying only a tensor that is not a contiguous CPU float32/float64 one: at merge-point sizes
    /// a copy is tens of megabytes, and fresh memory is slow to touch.
    /// </summary>
    private static void Read(Tensor tensor, Reader reader)
    {
        var direct = tensor.device_type == DeviceType.CPU && tensor.is_contiguous()
            && tensor.dtype is ScalarType.Float32 or ScalarType.Float64;
        using var copy = direct ? null : tensor.to(ScalarType.Float32, torch.CPU).contiguous();
        var source = copy ?? tensor;
        if (source.dtype == ScalarType.Float32) reader(MemoryMarshal.Cast<byte, float>(source.bytes), default);
        else reader(default, MemoryMarshal.Cast<byte, double>(source.bytes));
    }

    private static float[] Sigmas(ReadOnlySpan<float> covariance, int size)
    {
        var sigma = new float[size];
        for (var i = 0; i < size; i++) sigma[i] = Sigma(covariance[i * size + i]);
        return sigma;
    }

    private static float[] Sigmas(ReadOnlySpan<double> covariance, int size)
    {
        var sigma = new float[size];
        for (var i = 0; i < size; i++) sigma[i] = Sigma((float)covariance[i * size + i]);
        return sigma;
    }

    // A NaN diagonal fails the comparison and stays NaN; the final guard zeroes its row and column.
    private static float Sigma(float variance) => MathF.Sqrt(variance < 0f ? 0f : variance);

    private static void Fill(ReadOnlySpan<float> covariance, int size, float[] sigma,
        int row0, int rows, int column0, int columns, float[] result)
    {
        for (var r = 0; r < rows; r++)
        {
            var i = row0 + r;
            var source = covariance.Slice(i * size + column0, columns);
            var target = result.AsSpan(r * columns, columns);
            var si = sigma[i];
            for (var c = 0; c < columns; c++) target[c] = Divide(source[c], si, sigma[column0 + c]);
        }
    }

    private static void Fill(ReadOnlySpan<double> covariance, int size, float[] sigma,
        int row0, int rows, int column0, int columns, float[] result)
    {
        for (var r = 0; r < rows; r++)
        {
            var i = row0 + r;
            var source = covariance.Slice(i * size + column0, columns);
            var target = result.AsSpan(r * columns, columns);
            var si = sigma[i];
            for (var c = 0; c < columns; c++) target[c] = Divide((float)source[c], si, sigma[column0 + c]);
        }
    }

    private static float Divide(float covariance, float si, float sj)
    {
        var product = si * sj;
        var c = covariance / (product < ProductEpsilon ? ProductEpsilon : product);
        return float.IsFinite(c) ? c : 0f;
    }
}
