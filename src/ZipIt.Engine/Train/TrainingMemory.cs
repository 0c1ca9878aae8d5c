using ZipIt.Engine.Collect;
using ZipIt.Engine.Data;
using ZipIt.Engine.Models;

namespace ZipIt.Engine.Train;

/// <summary>
/// The peak memory of a training run, estimated before the first step: the weights, their
/// gradients and the optimiser's state (SGD with momentum: one buffer per weight; AdamW: two), the
/// task's images, and one batch (with its augmented copy) and its activations kept for the backward
/// pass and their gradients (every module's output, from the model's <see cref="ForwardFootprint"/>).
/// CPU memory only.
/// </summary>
internal static class TrainingMemory
{
    /// <param name="weights">Bytes of the model's state.</param>
    /// <param name="forward">The model's footprint; null counts no activations (a lower bound, checked before the model is built).</param>
    /// <param name="task">The task's images.</param>
    /// <param name="recipe">The optimiser and batch size.</param>
    /// <param name="image">One input's shape [C, H, W].</param>
    public static long Estimate(long weights, ForwardFootprint? forward, DataTask task, TrainingRecipe recipe, long[] image)
    {
        var slots = recipe.Optimizer == OptimizerKind.AdamW ? 2 : recipe.Momentum > 0 ? 1 : 0;
        var images = new[] { task.Train, task.Validation, task.Test }.Sum(s => s.Images.NumberOfElements * s.Images.ElementSize);
        var batch = 4L * recipe.BatchSize * (2 * image.Aggregate(1L, (a, b) => a * b) + 2 * (forward?.ActivationFloats ?? 0));
        return MemoryEstimate.RuntimeBytes + weights * (2 + slots) + images + batch;
    }
}
