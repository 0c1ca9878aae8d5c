using static TorchSharp.torch;

namespace ZipIt.Tests.Matching;

/// <summary>Spec §13.2: N = 2, C = 4 (units 0–3 = model A, 4–7 = model B), a correlation with unit diagonal.</summary>
internal static class GoldenMatrix
{
    public static readonly double[] Values =
    [
         1.00,  0.10, -0.11,  0.51, -0.21,  0.37,  0.16, -0.23,
         0.10,  1.00,  0.33, -0.25,  0.24, -0.21, -0.19,  0.23,
        -0.11,  0.33,  1.00,  0.73, -0.15, -0.02,  0.48,  0.88,
         0.51, -0.25,  0.73,  1.00,  0.42,  0.20,  0.92, -0.24,
        -0.21,  0.24, -0.15,  0.42,  1.00,  0.77,  0.06, -0.12,
         0.37, -0.21, -0.02,  0.20,  0.77,  1.00, -0.15,  0.09,
         0.16, -0.19,  0.48,  0.92,  0.06, -0.15,  1.00,  0.72,
        -0.23,  0.23,  0.88, -0.24, -0.12,  0.09,  0.72,  1.00,
    ];

    /// <summary>As a covariance: unit variances, so the correlation is the matrix itself.</summary>
    public static MatchPoint Point(string name = "golden") => new(name, 4)
    {
        Covariance = tensor(Values, [8, 8], ScalarType.Float64),
    };
}
