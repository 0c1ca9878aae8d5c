using TorchSharp;
using ZipIt.Engine.Collect;
using static TorchSharp.torch;

namespace ZipIt.Tests.Engine;

/// <summary>
/// The streaming covariance multiplies batch-centred features in float32 and sums in float64; these
/// tests state its error against an all-float64 covariance over every sample.
/// </summary>
public sealed class CovarianceAccumulatorTests
{
    [Theory]
    [InlineData(1.0, 3.0, 1)]    // mean comparable to the spread
    [InlineData(10.0, 1.0, 1)]   // mean 10× the spread: post-ReLU features; uncentred float32 would cancel badly
    [InlineData(100.0, 0.5, 1)]
    [InlineData(10.0, 1.0, 2)]   // two models: three block products, the fourth block by transposing
    [InlineData(10.0, 1.0, 3)]
    public void Equals_the_float64_covariance_over_all_samples_within_1e_6(double offset, double spread, int models)
    {
        var generator = new Generator(3);
        using var acc = new CovarianceAccumulator(6, models);
        var batches = new[] { 4, 7, 2 }.Select(images => (torch.randn([6, images * 50], ScalarType.Float64, generator: generator) * spread + offset)).ToList();
        foreach (var b in batches) acc.Add(b.to(ScalarType.Float32), b.shape[1] / 50);
        var (cov, mean) = acc.Finish();

        var all = torch.cat(batches, 1);
        var expected = torch.cov(all.to(ScalarType.Float32).to(ScalarType.Float64), correction: 0);
        var scale = expected.abs().max().item<double>();
        var error = (cov - expected).abs().max().item<double>() / scale;
        Assert.True(error < 1e-6, $"largest error {error:E2} of the largest entry");
        // Float32 sums of the centred features: the mean is exact to float32 rounding of the spread, not of the mean.
        var meanError = (mean - all.to(ScalarType.Float32).to(ScalarType.Float64).mean([1])).abs().max().item<double>();
        Assert.True(meanError < 1e-6 * spread, $"largest mean error {meanError:E2}, spread {spread}");
        Assert.Equal(ScalarType.Float64, cov.dtype);
        Assert.Equal(13, acc.Images);
        Assert.Equal(0.0, (cov - cov.t()).abs().max().item<double>());
    }

    [Fact]
    public void Points_wider_than_a_chunk_given_as_several_taps_match_the_float64_covariance()
    {
        // 2 × 300 units: three chunks per model, so products between chunks of one model and across
        // models; each batch arrives as two taps (parts) of different sample counts per model.
        const int width = 300;
        Assert.True(width > CovarianceAccumulator.ChunkWidth);
        var generator = new Generator(5);
        using var acc = new CovarianceAccumulator(2 * width, 2);
        var batches = new List<Tensor>();
        foreach (var images in new[] { 3, 5 })
        {
            var batch = torch.randn([2 * width, images * 40], ScalarType.Float64, generator: generator) + 4;
            batches.Add(batch);
            var parts = Enumerable.Range(0, 2).Select(m => (IReadOnlyList<Tensor>)
            [
                batch.narrow(0, m * width, width).narrow(1, 0, images * 10).to(ScalarType.Float32),
                batch.narrow(0, m * width, width).narrow(1, images * 10, images * 30).to(ScalarType.Float32),
            ]).ToList();
            acc.Add(parts, images);
        }
        var (cov, _) = acc.Finish();
        var expected = torch.cov(torch.cat(batches, 1).to(ScalarType.Float32).to(ScalarType.Float64), correction: 0);
        var error = (cov - expected).abs().max().item<double>() / expected.abs().max().item<double>();
        Assert.True(error < 1e-6, $"largest error {error:E2} of the largest entry");
        Assert.Equal(0.0, (cov - cov.t()).abs().max().item<double>());
    }

    [Fact]
    public void Non_finite_features_count_as_zero()
    {
        var generator = new Generator(9);
        var clean = torch.randn([4, 30], generator: generator);
        var dirty = clean.clone();
        clean[1, 3] = 0f; clean[2, 7] = 0f; clean[0, 0] = 0f;
        dirty[1, 3] = float.NaN; dirty[2, 7] = float.PositiveInfinity; dirty[0, 0] = float.NegativeInfinity;
        using var expected = new CovarianceAccumulator(4, 2);
        using var actual = new CovarianceAccumulator(4, 2);
        expected.Add(clean, 1);
        actual.Add(dirty, 1);
        var (want, wantMean) = expected.Finish();
        var (got, gotMean) = actual.Finish();
        Assert.True(got.allclose(want, rtol: 0, atol: 0) && gotMean.allclose(wantMean, rtol: 0, atol: 0), "non-finite features changed the covariance differently from zeros");
    }

    [Fact]
    public void Refuses_a_model_count_that_does_not_divide_the_features()
    {
        Assert.Throws<ArgumentException>(() => new CovarianceAccumulator(6, 4));
    }

    [Fact]
    public void Batches_weigh_by_images_as_the_reference_does()
    {
        // Two batches of one image each but different sample counts: each image weighs the same.
        using var acc = new CovarianceAccumulator(1);
        acc.Add(tensor(new float[] { 0, 2 }).reshape(1, 2), 1);
        acc.Add(tensor(new float[] { 4, 4, 4, 4 }).reshape(1, 4), 1);
        var (cov, mean) = acc.Finish();
        Assert.Equal(2.5, mean.item<double>(), 12);       // (1 + 4) / 2
        Assert.Equal((2.0 + 16.0) / 2 - 6.25, cov.item<double>(), 12); // E[x²] = (mean of 0,4 → 2; 16) / 2
    }
}
