using TorchSharp;
using ZipIt.Matching;
using static TorchSharp.torch;
using static ZipIt.Tests.Matching.MatchingTestSupport;

namespace ZipIt.Tests.Matching;

public class CorrelationTests
{
    [Fact]
    public void GoldenVector_13_1()
    {
        // Spec §13.1: one image, 2×2 spatial positions, N = 2, C = 2.
        var features = new double[,] { { 1, 2, 3, 4 }, { 0, 0, 1, 1 }, { 2, 4, 6, 8 }, { 1, 0, 0, 1 } };
        using var covariance = CovarianceOf(features);
        double[] expectedCovariance =
        [
            1.25, 0.50, 2.50, 0.00,
            0.50, 0.25, 1.00, 0.00,
            2.50, 1.00, 5.00, 0.00,
            0.00, 0.00, 0.00, 0.25,
        ];
        Assert.Equal(expectedCovariance, covariance.data<double>().ToArray(), new ToleranceComparer(1e-12));

        using var correlation = Correlation.FromCovariance(covariance);
        Assert.Equal(ScalarType.Float32, correlation.dtype);
        Assert.Equal([4L, 4L], correlation.shape);
        double[] expected =
        [
            1.0000, 0.8944, 1.0000, 0.0000,
            0.8944, 1.0000, 0.8944, 0.0000,
            1.0000, 0.8944, 1.0000, 0.0000,
            0.0000, 0.0000, 0.0000, 1.0000,
        ];
        Assert.Equal(expected, Values(correlation).Select(v => (double)v), new ToleranceComparer(1e-4));
    }

    [Fact]
    public void MatchesTheReferenceFloat32Formula_Bitwise()
    {
        // The reference: cov / clamp(outer(std, std), min=1e-7) with std = sqrt(diag(cov)), all in float32.
        var generator = new Generator(11);
        using var x = randn([24, 200], generator: generator);
        x[3].zero_();                                   // a dead unit: the clamp binds
        using var centred = x - x.mean([1], keepdim: true);
        using var cov32 = centred.mm(centred.t()) / 200;
        using var ours = Correlation.FromCovariance(cov32);

        // With σ rounded correctly (IEEE sqrt, as C# and CUDA do) every other step is bit-identical.
        var diagonal = Values(cov32.diagonal().contiguous());
        using var std = tensor(diagonal.Select(MathF.Sqrt).ToArray());
        using var reference = cov32 / outer(std, std).clamp_min(1e-7);
        Assert.Equal(Values(reference), Values(ours));

        // libtorch's CPU sqrt kernel may be one ulp off, so against it we agree to a few ulp.
        using var torchStd = cov32.diagonal().sqrt();
        using var torchReference = cov32 / outer(torchStd, torchStd).clamp_min(1e-7);
        Assert.True(torchReference.allclose(ours, rtol: 3e-7, atol: 1e-9));

        // A float64 covariance is rounded to float32 first, as the reference's covariance is float32.
        using var cov64 = cov32.to_type(ScalarType.Float64);
        using var fromDouble = Correlation.FromCovariance(cov64);
        Assert.Equal(Values(reference), Values(fromDouble));
    }

    [Fact]
    public void DeadUnit_CorrelatesZero()
    {
        var features = new double[,] { { 1, 2, 3, 5 }, { 7, 7, 7, 7 }, { 0, 1, 0, 1 } };
        using var covariance = CovarianceOf(features);
        var c = Values(Correlation.FromCovariance(covariance));
        for (var k = 0; k < 3; k++)
        {
            Assert.Equal(0f, c[1 * 3 + k]);
            Assert.Equal(0f, c[k * 3 + 1]);
        }
        Assert.Equal(1f, c[0], 5);
        Assert.All(c, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void NegativeDiagonal_IsTreatedAsZero()
    {
        // E[x²] − E[x]² can come out at −1e-7 for a (nearly) constant unit; the reference gets NaN.
        double[] cov =
        [
            1.0, 1e-9, 0.5,
            1e-9, -1e-7, 1e-9,
            0.5, 1e-9, 2.0,
        ];
        using var covariance = tensor(cov, [3, 3], ScalarType.Float64);
        var c = Values(Correlation.FromCovariance(covariance));
        Assert.All(c, v => Assert.True(float.IsFinite(v)));
        // σ = 0, so the product clamps at 1e-7: 1e-9 / 1e-7 = 0.01, small as for any dead unit.
        Assert.Equal(0.01f, c[0 * 3 + 1], 6);
        Assert.Equal(-1f, c[1 * 3 + 1], 5);
        Assert.Equal(0.5f / MathF.Sqrt(2f), c[0 * 3 + 2], 6);
    }

    [Fact]
    public void NonFiniteEntries_BecomeZero()
    {
        double[] cov =
        [
            1.0, double.NaN, 0.5,
            double.NaN, 1.0, double.PositiveInfinity,
            0.5, double.PositiveInfinity, 1.0,
        ];
        using var covariance = tensor(cov, [3, 3], ScalarType.Float64);
        var c = Values(Correlation.FromCovariance(covariance));
        Assert.Equal([1f, 0f, 0.5f, 0f, 1f, 0f, 0.5f, 0f, 1f], c);

        double[] nanDiagonal = [double.NaN, 0.3, 0.3, 1.0];
        using var nanCovariance = tensor(nanDiagonal, [2, 2], ScalarType.Float64);
        Assert.Equal([0f, 0f, 0f, 1f], Values(Correlation.FromCovariance(nanCovariance)));
    }

    [Fact]
    public void InputIsNotChanged_AndViewsAreRead()
    {
        using var covariance = RandomCovariance(2, 5, seed: 3);
        using var before = covariance.clone();
        using var fromOriginal = Correlation.FromCovariance(covariance);
        Assert.True(before.Equals(covariance));

        // A transposed (non-contiguous) float32 view of a symmetric matrix reads the same.
        using var single = covariance.to_type(ScalarType.Float32);
        using var view = single.t();
        Assert.False(view.is_contiguous());
        Assert.Equal(Values(fromOriginal), Values(Correlation.FromCovariance(view)));

        var span = Correlation.Compute(single.data<float>().ToArray(), 10);
        Assert.Equal(Values(fromOriginal), span);
    }

    [Fact]
    public void RejectsNonMatrices()
    {
        using var vector = zeros([4], ScalarType.Float64);
        using var rectangle = zeros([2, 3], ScalarType.Float64);
        using var integers = zeros([2, 2], ScalarType.Int64);
        Assert.Contains("square", Assert.Throws<ArgumentException>(() => Correlation.FromCovariance(vector)).Message);
        Assert.Contains("[2, 3]", Assert.Throws<ArgumentException>(() => Correlation.FromCovariance(rectangle)).Message);
        Assert.Contains("floating point", Assert.Throws<ArgumentException>(() => Correlation.FromCovariance(integers)).Message);
        Assert.Throws<ArgumentException>(() => Correlation.Compute(new float[5], 2));
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(double obj) => 0;
    }
}
