namespace ZipIt.Engine.Train;

/// <summary>
/// The learning rate and momentum of a recipe at an optimiser step (0-based), as pure functions
/// of the step and the run's length. One-cycle follows PyTorch's <c>OneCycleLR</c> with
/// <c>three_phase=False</c>: the first phase ends at step pct_start·total − 1, the second at
/// total − 1, and both anneal by cos; where PyTorch would divide by zero (a phase of no length)
/// the phase counts as finished.
/// </summary>
internal static class RecipeSchedule
{
    /// <summary>The learning rate and momentum (SGD's momentum, AdamW's β1) for step <paramref name="step"/> of <paramref name="totalSteps"/>.</summary>
    public static (double LearningRate, double Momentum) At(TrainingRecipe r, long step, long totalSteps)
    {
        var momentum = r.Optimizer == OptimizerKind.AdamW ? r.Beta1 : r.Momentum;
        switch (r.Schedule)
        {
            case LearningRateSchedule.OneCycle:
            {
                var initial = r.LearningRate / r.DivFactor;
                var min = initial / r.FinalDivFactor;
                var end1 = r.Warmup * totalSteps - 1;
                var end2 = totalSteps - 1.0;
                if (step <= end1)
                {
                    var pct = Fraction(step, end1);
                    return (Cos(initial, r.LearningRate, pct), r.CycleMomentum ? Cos(r.MaxMomentum, r.BaseMomentum, pct) : momentum);
                }
                var down = Fraction(step - end1, end2 - end1);
                return (Cos(r.LearningRate, min, down), r.CycleMomentum ? Cos(r.BaseMomentum, r.MaxMomentum, down) : momentum);
            }
            default:
            {
                // Kept exactly as zipit trained before one-cycle: warm-up reaches the peak on its last step.
                var warmup = Math.Max(1, (long)Math.Round(r.Warmup * totalSteps));
                if (step < warmup) return (r.LearningRate * (step + 1) / warmup, momentum);
                var progress = (double)(step - warmup) / Math.Max(1, totalSteps - warmup);
                return (r.Schedule == LearningRateSchedule.Cosine
                    ? r.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * progress))
                    : r.LearningRate * (1 - progress), momentum);
            }
        }
    }

    private static double Fraction(double done, double length) => length > 0 ? done / length : 1;

    /// <summary>Cosine annealing from <paramref name="start"/> to <paramref name="end"/> as <paramref name="pct"/> goes from 0 to 1.</summary>
    private static double Cos(double start, double end, double pct) => end + (start - end) / 2.0 * (Math.Cos(Math.PI * pct) + 1);
}
