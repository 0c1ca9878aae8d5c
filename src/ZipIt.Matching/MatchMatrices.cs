using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace ZipIt.Matching;

/// <summary>Builds the merge and unmerge matrices of a matching given as "unit k joins merged feature g".</summary>
public static class MatchMatrices
{
    /// <summary>
    /// U[k, g] = 1 for every member k of g; M[g, k] = 1/(|g| + <paramref name="epsilon"/>). The reference
    /// divides a float32 count by count + 1e-5 in float32, so the weights are computed the same way.
    /// </summary>
    /// <param name="featureOf">For every stacked unit (N·C of them), its merged feature in [0, C).</param>
    /// <param name="features">C, the number of merged features.</param>
    /// <param name="epsilon">The merge-eps setting (<see cref="Epsilon"/>).</param>
    public static MatchResult FromAssignment(int[] featureOf, int features, float epsilon)
    {
        var units = featureOf.Length;
        var counts = new int[features];
        foreach (var g in featureOf) counts[g]++;

        // Written in place: the matrices are mostly zeros, and a managed copy of them would double
        // the memory touched at large widths.
        var merge = zeros([features, units], ScalarType.Float32, device: CPU);
        var unmerge = zeros([units, features], ScalarType.Float32, device: CPU);
        var m = MemoryMarshal.Cast<byte, float>(merge.bytes);
        var u = MemoryMarshal.Cast<byte, float>(unmerge.bytes);
        for (var k = 0; k < units; k++)
        {
            var g = featureOf[k];
            m[g * units + k] = 1f / (counts[g] + epsilon);
            u[k * features + g] = 1f;
        }
        return new MatchResult(merge, unmerge);
    }

    /// <summary>The merge-eps setting every built-in matcher declares (the reference's 1e-5 in 1/(count + eps)).</summary>
    public static MatcherParameter EpsilonParameter { get; } = new(
        "merge-eps", "1e-05",
        "eps in the merge weight 1/(count + eps); the reference uses 1e-5 (weights a hair under 1/count), 0 gives exact averages");

    /// <summary>
    /// <c>untie-heads</c>: whether grouped points that share a <see cref="FeatureSpace.GroupTie"/> (a
    /// ViT head's q/k and v) are paired independently, as the reference code does. Off by default:
    /// untied head assignments break the attention function.
    /// </summary>
    public static MatcherParameter UntieHeadsParameter { get; } = new(
        "untie-heads", "false", "true: pair the groups of tied points (a ViT head's q/k and v) independently, as the reference code does (breaks attention; for comparison)");

    /// <summary>The <c>merge-eps</c> setting, checked (≥ 0 and finite); throws <see cref="ArgumentException"/> naming it.</summary>
    public static float Epsilon(MatcherSettings settings)
    {
        var eps = settings.GetDouble(EpsilonParameter.Name);
        if (eps < 0)
            throw new ArgumentException($"matcher setting '{EpsilonParameter.Name}' must be at least 0, got {eps.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        return (float)eps;
    }
}
