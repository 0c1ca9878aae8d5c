using BenchmarkDotNet.Attributes;
using ZipIt.Engine.Zip;
using static TorchSharp.torch;
using ZipIt.Matching;

namespace ZipIt.Benchmarks;

/// <summary>
/// Applying one model's merge block M_i [C, C] to a convolution's output axis and its unmerge block
/// U_i [C, C] to the input axis (<see cref="AxisTransform"/>): what <c>zip</c> does for every tensor
/// of every merge point. Shapes: a 3×3 convolution of ResNet-20×4's stage 3 (256 → 256) and of
/// ResNet-50's stage 4 (512 → 512).
/// </summary>
[MemoryDiagnoser]
public class WeightApplicationBenchmarks
{
    private Tensor _weight = null!;
    private Tensor _merge = null!;
    private Tensor _unmerge = null!;

    [Params(256, 512)]
    public int Channels { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var g = new TorchSharp.torch.Generator(7);
        _weight = randn([Channels, Channels, 3, 3], generator: g);
        _merge = randn([Channels, Channels], generator: g);
        _unmerge = randn([Channels, Channels], generator: g);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _weight.Dispose();
        _merge.Dispose();
        _unmerge.Dispose();
    }

    /// <summary>Merge the output channels, then unmerge the input channels, of a fresh copy.</summary>
    [Benchmark]
    public long MergeThenUnmerge()
    {
        using var w = _weight.clone();
        AxisTransform.Merge(w, new TensorAxis("conv.weight", 0), _merge);
        AxisTransform.Unmerge(w, new TensorAxis("conv.weight", 1), _unmerge);
        return w.shape[0];
    }
}
