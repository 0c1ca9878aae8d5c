using static TorchSharp.torch;

namespace ZipIt.Matching;

/// <summary>
/// The permutation matching of an ungrouped point (<c>match_tensors_permute</c>, mudsc-method.md
/// §6.1): model 0 keeps its order and every other model is aligned to it on its own by a maximising
/// linear assignment on the similarity block between the two (a star around model 0 for N &gt; 2).
/// Merged feature r is model 0's unit r with the unit of every model assigned to it.
/// </summary>
public static class StarAlignment
{
    /// <summary>Aligns on the correlation of <paramref name="covariance"/> ([N·C, N·C]; only the blocks beside model 0 are formed).</summary>
    public static AlignmentResult Match(Tensor covariance, int models, int width) =>
        Match(model => Correlation.Block(covariance, 0, width, model * width, width), models, width);

    /// <summary>Aligns on a similarity that is already formed (row-major [N·C, N·C]); read only.</summary>
    public static AlignmentResult Match(float[] similarity, int models, int width) =>
        Match(BlocksBesideModelZero(similarity, models, width), models, width);

    /// <summary>Model i ↦ the [C, C] block of <paramref name="similarity"/> with model 0's units as rows and model i's as columns (a copy).</summary>
    internal static Func<int, float[]> BlocksBesideModelZero(float[] similarity, int models, int width)
    {
        var stacked = (long)models * width;
        if (similarity.LongLength != stacked * stacked)
            throw new ArgumentException($"similarity has {similarity.LongLength} values, not {stacked}×{stacked}");
        return model =>
        {
            var block = new float[width * width];
            for (var r = 0; r < width; r++) Array.Copy(similarity, r * stacked + model * width, block, r * width, width);
            return block;
        };
    }

    // blockOf(i): rows are model 0's units, columns model i's; only this block is needed.
    private static AlignmentResult Match(Func<int, float[]> blockOf, int models, int width)
    {
        var featureOf = new int[models * width];
        for (var r = 0; r < width; r++) featureOf[r] = r;
        var block = new double[width * width];
        var objective = 0.0;
        for (var model = 1; model < models; model++)
        {
            var correlation = blockOf(model);
            for (var k = 0; k < block.Length; k++) block[k] = correlation[k];
            var columnOf = LinearAssignment.Maximize(block, width);
            var sum = 0.0;
            for (var r = 0; r < width; r++)
            {
                featureOf[model * width + columnOf[r]] = r;
                sum += block[r * width + columnOf[r]];
            }
            objective += sum / width;
        }
        return new AlignmentResult(featureOf, models > 1 ? objective / (models - 1) : 0);
    }
}
