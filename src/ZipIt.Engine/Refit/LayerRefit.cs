namespace ZipIt.Engine.Refit;

/// <summary>What the refit of one layer did, on its own calibration rows.</summary>
/// <param name="Layer">The module path.</param>
/// <param name="Samples">Rows solved over: images × output positions (tokens) per image.</param>
/// <param name="Features">Unknowns per output channel (c_in·k_h·k_w, and 1 for a bias).</param>
/// <param name="Ridge">λ', the absolute ridge the solve added (λ times the mean diagonal of the weight inputs' Gram).</param>
/// <param name="ErrorBefore">Σ ‖y − W* x‖² with the matcher's weights W*.</param>
/// <param name="ErrorAfter">Σ ‖y − W x‖² with the refit weights W; never above <paramref name="ErrorBefore"/>.</param>
/// <param name="TargetSquares">Σ ‖y‖², the scale of both errors.</param>
internal sealed record LayerRefit(string Layer, long Samples, long Features, double Ridge, double ErrorBefore, double ErrorAfter, double TargetSquares)
{
    /// <summary>The error after relative to the targets' energy.</summary>
    public double RelativeErrorAfter => TargetSquares > 0 ? ErrorAfter / TargetSquares : 0;

    /// <summary>The error before relative to the targets' energy.</summary>
    public double RelativeErrorBefore => TargetSquares > 0 ? ErrorBefore / TargetSquares : 0;
}
