using System.Globalization;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Refit;

/// <summary>How a refit runs: which inputs it fits (<see cref="RefitVariant"/>) and how strongly it keeps to the matcher's weights.</summary>
/// <param name="Variant">Teacher-forced or sequential inputs.</param>
/// <param name="Ridge">
/// λ of the ridge term λ·(tr G / d)·‖W − W*‖², relative to the mean eigenvalue of the inputs' Gram
/// G (d inputs), so that it does not depend on the activations' scale; W* are the weights the zip
/// produced. 0 is plain least squares, which needs a Gram of full rank.
/// </param>
internal sealed record RefitOptions(RefitVariant Variant, double Ridge = RefitOptions.DefaultRidge)
{
    /// <summary>How messages name the ridge's option: <c>--refit-ridge</c> (merge), <c>--ridge</c> (refit).</summary>
    public string RidgeOption { get; init; } = "--refit-ridge";

    /// <summary>
    /// The default λ: directions of the inputs with less than a thousandth of the mean variance are
    /// decided by the zip's weights rather than fitted (constant or dead channels, layers wider than
    /// the calibration samples), and the rest by the data.
    /// </summary>
    public const double DefaultRidge = 1e-3;

    /// <summary>Exit 2 unless <paramref name="ridge"/> is finite and not negative; <paramref name="option"/> names it.</summary>
    public static double RequireRidge(double ridge, string option) =>
        double.IsFinite(ridge) && ridge >= 0
            ? ridge
            : throw ZipItException.Usage($"{option} {ridge.ToString(CultureInfo.InvariantCulture)}: the ridge must be a finite number ≥ 0");

    /// <summary>The variant named <paramref name="text"/> (<c>teacher</c>, <c>sequential</c>); exit 2 naming <paramref name="option"/> otherwise.</summary>
    public static RefitVariant ParseVariant(string text, string option) =>
        Enum.TryParse<RefitVariant>(text, ignoreCase: true, out var v) && Enum.IsDefined(v) && !int.TryParse(text, out _)
            ? v
            : throw ZipItException.Usage($"{option} {text}: expected {string.Join(" or ", Names)}");

    /// <summary>The variants as typed: <c>teacher</c>, <c>sequential</c>.</summary>
    public static IReadOnlyList<string> Names { get; } = Enum.GetValues<RefitVariant>().Select(Name).ToArray();

    /// <summary>A variant as typed and recorded.</summary>
    public static string Name(RefitVariant variant) => variant.ToString().ToLowerInvariant();
}
