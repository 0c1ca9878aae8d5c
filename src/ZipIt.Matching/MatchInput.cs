using static TorchSharp.torch;

namespace ZipIt.Matching;

/// <summary>
/// Input checks shared by the built-in matchers. Every message is one line that names the matcher
/// and, for a point, the point, because the host shows it to the user as is.
/// </summary>
public static class MatchInput
{
    /// <summary>Largest N·C: the float64 covariance is read in place as one span (under 2 GiB).</summary>
    public const int MaxUnits = 16_000;

    /// <summary>Checks what does not depend on a point: N, the point list, unique names.</summary>
    public static void CheckContext(string matcher, MatchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.ModelCount < 2)
            throw new ArgumentException($"the {matcher} matcher needs at least 2 models, got {context.ModelCount}");
        if (context.Points is null)
            throw new ArgumentException($"the {matcher} matcher got no point list");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var point in context.Points)
        {
            if (point is null)
                throw new ArgumentException($"the {matcher} matcher got a null point");
            if (!seen.Add(point.Name))
                throw new ArgumentException($"point '{point.Name}' appears more than once");
            if (point.Width < 1)
                throw new ArgumentException($"point '{point.Name}': width must be at least 1, got {point.Width}");
            if ((long)context.ModelCount * point.Width > MaxUnits)
                throw new ArgumentException($"point '{point.Name}': N·C = {(long)context.ModelCount * point.Width} units is more than the {matcher} matcher supports ({MaxUnits})");
        }
    }

    /// <summary>
    /// The point's covariance after checking that it is there, has the right shape and dtype and is
    /// finite in float32 (the precision the matchers work in).
    /// </summary>
    public static Tensor Covariance(string matcher, MatchPoint point, int models)
    {
        var covariance = point.Covariance
            ?? throw new ArgumentException($"point '{point.Name}': the {matcher} matcher needs the point's covariance (collect activations first)");
        var size = (long)models * point.Width;
        if (covariance.dim() != 2 || covariance.shape[0] != covariance.shape[1])
            throw new ArgumentException($"point '{point.Name}': covariance must be square [N·C, N·C], got [{string.Join(", ", covariance.shape)}]");
        if (covariance.shape[0] != size)
            throw new ArgumentException(
                $"point '{point.Name}': covariance is [{covariance.shape[0]}, {covariance.shape[1]}] but N·C = {models}·{point.Width} = {size}");
        if (!is_floating_point(covariance))
            throw new ArgumentException($"point '{point.Name}': covariance must be floating point, got {covariance.dtype}");
        var bad = Correlation.CountNonFinite(covariance);
        if (bad > 0)
            throw new ArgumentException($"point '{point.Name}': covariance has {bad} NaN or infinite entries (in float32)");
        return covariance;
    }
}
