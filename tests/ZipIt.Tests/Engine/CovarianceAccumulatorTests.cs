using TorchSharp;
using ZipIt.Collect;
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
        Assert.True(mean.allclose(all.to(ScalarType.Float32).to(ScalarType.Float64).mean([1]), rtol: 1e-9, atol: 1e-9));
        Assert.Equal(ScalarType.Float64, cov.dtype);
        Assert.Equal(13, acc.Images);
        Assert.Equal(0.0, (cov - cov.t()).abs().max().item<double>());
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
