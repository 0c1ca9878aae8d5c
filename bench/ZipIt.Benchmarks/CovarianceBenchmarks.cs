using BenchmarkDotNet.Attributes;
using ZipIt.Engine.Collect;
using static TorchSharp.torch;

namespace ZipIt.Benchmarks;

/// <summary>
/// One batch added to a merge point's covariance (float32 products of centred features, float64
/// sums): the hot loop of <c>collect</c> (and the cost the forward-pass floor is compared with).
/// Shapes are two ResNet-20×4 models' features for a batch of 100 images: stage 1 (2 × 64 channels
/// at 32×32) and stage 3 (2 × 256 at 8×8). <see cref="Models"/> 2 is what <c>collect</c> does (the
/// blocks on and above the diagonal only); 1 multiplies the whole stacked matrix, for comparison.
/// </summary>
[MemoryDiagnoser]
public class CovarianceBenchmarks
{
    private Tensor _features = null!;
    private CovarianceAccumulator _accumulator = null!;

    [Params("stage1", "stage3")]
    public string Point { get; set; } = "stage1";

    [Params(1, 2)]
    public int Models { get; set; } = 2;

    [GlobalSetup]
    public void Setup()
    {
        var (channels, samples) = Point == "stage1" ? (128, 100 * 32 * 32) : (512, 100 * 8 * 8);
        _features = randn(channels, samples, generator: new TorchSharp.torch.Generator(42));
        _accumulator = new CovarianceAccumulator(channels, Models);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _features.Dispose();
        _accumulator.Dispose();
    }

    [Benchmark]
    public long AddBatch()
    {
        _accumulator.Add(_features, 100);
        return _accumulator.Images;
    }
}
