using TorchSharp;
using ZipIt.Engine.Collect;
using ZipIt.Engine.Merge;
using ZipIt.Engine.Models;
using ZipIt.Tests.ResNet;
using static TorchSharp.torch;

namespace ZipIt.Tests.Engine;

/// <summary>The peak-memory estimates of collect and merge, against what a real forward pass captures.</summary>
// Serial: MemoryEstimate.StateBytes sets TorchSharp's process-wide default device to meta while it builds a model.
[Collection(SerialCollection.Name)]
public sealed class MemoryEstimateTests
{
    private static readonly ArchitectureConfig Config = ResNetTestUtil.Config("resnet20");
    private static readonly MergeGraph Graph = ResNetTestUtil.Architecture.Describe(Config);

    /// <summary>The elements FeatureTaps captures per space for one CPU forward pass of <paramref name="batch"/> images.</summary>
    private static Dictionary<string, long> RealTaps(int batch)
    {
        using var model = ResNetTestUtil.Architecture.Create(Config);
        model.eval();
        using var taps = new FeatureTaps(model, Graph.Spaces);
        using var _ = torch.no_grad();
        using var x = torch.randn(batch, 3, 32, 32);
        using var y = model.call(x);
        return Graph.Spaces.ToDictionary(s => s.Name, s => taps.Take(s.Name).Sum(t => { using (t) return t.NumberOfElements; }));
    }

    [Fact]
    public void The_meta_device_probe_counts_what_a_real_forward_pass_taps()
    {
        using var model = ResNetTestUtil.Architecture.Create(Config);
        var footprint = ForwardFootprint.Probe(model, torch.CPU, Graph.Spaces, [3, 32, 32]);
        Assert.NotNull(footprint);
        var real = RealTaps(batch: 2);
        Assert.Equal(real.Values.Sum() / 2, footprint.TapFloats);
        Assert.InRange(footprint.ActivationFloats, 20 * 16 * 32 * 32, 200 * 16 * 32 * 32);
    }

    /// <summary>Two linear layers run in the block's own dispose scope: the first's output is freed when the block returns.</summary>
    private sealed class ScopedBlock : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> first = nn.Linear(1000, 1000), second = nn.Linear(1000, 1000);
        private readonly bool scoped;

        public ScopedBlock(bool scoped) : base(nameof(ScopedBlock))
        {
            this.scoped = scoped;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            if (!scoped) return second.call(first.call(x));
            using var scope = NewDisposeScope();
            return second.call(first.call(x)).MoveToOuterDisposeScope();
        }
    }

    [Fact]
    public void Outputs_freed_inside_a_pass_count_while_alive_once_the_allocator_returns_blocks_of_their_size()
    {
        using var scoped = nn.Sequential(new ScopedBlock(true), new ScopedBlock(true));
        using var unscoped = nn.Sequential(new ScopedBlock(false), new ScopedBlock(false));
        var freeing = ForwardFootprint.Probe(scoped, torch.CPU, [], [1000])!;
        var keeping = ForwardFootprint.Probe(unscoped, torch.CPU, [], [1000])!;
        Assert.Equal(4000, freeing.ActivationFloats);
        Assert.Equal(4000, keeping.ActivationFloats);
        // Sequential frees the first block's result once the second has run; the scoped blocks also
        // free their first layer's output as they return.
        Assert.Equal(3, freeing.Outputs.Count(o => o.Freed is not null));
        Assert.Single(keeping.Outputs, o => o.Freed is not null);
        // 10,000 images: every output is 40 MB, above what the allocator keeps, so a freed one stops
        // counting: at most the first block's result and the second block's two outputs are alive at once.
        var large = (int)(ForwardFootprint.AllocatorKeepsBelowBytes / (4 * 1000)) + 1;
        Assert.Equal(3000, freeing.PeakResidentFloats(large));
        Assert.Equal(4000, keeping.PeakResidentFloats(large));
        Assert.Equal(1000, freeing.RetainedLargeFloats(large));
        // One image: 4 kB outputs stay with the allocator when freed, so all count.
        Assert.Equal(4000, freeing.PeakResidentFloats(1));
        Assert.Equal(0, freeing.RetainedLargeFloats(1));
    }

    [Fact]
    public void Statistics_are_two_float64_sums_per_point_while_collecting_and_one_covariance_after()
    {
        var squares = Graph.Spaces.Sum(s => Math.Pow(2.0 * s.Width, 2));
        var largest = Graph.Spaces.Max(s => Math.Pow(2.0 * s.Width, 2));
        Assert.Equal((long)(8 * squares), StatisticsMemory.Finished(Graph.Spaces, 2));
        Assert.Equal((long)(8 * squares + 4 * largest), StatisticsMemory.Accumulating(Graph.Spaces, 2));
        Assert.Equal((long)(8 * squares + 24 * largest), StatisticsMemory.Finishing(Graph.Spaces, 2));
    }

    [Fact]
    public void A_small_merge_estimate_covers_models_data_taps_and_statistics_and_not_much_more()
    {
        const int batch = 50;
        using var model = ResNetTestUtil.Architecture.Create(Config);
        var footprint = ForwardFootprint.Probe(model, torch.CPU, Graph.Spaces, [3, 32, 32]);
        var modelBytes = MemoryEstimate.StateBytes(ResNetTestUtil.Architecture, Config)!.Value;
        const long dataBytes = 200L * 3 * 32 * 32 * 4;
        var memory = new MergeMemory(2, modelBytes, dataBytes, 0, 3 * 32 * 32, batch, Graph.Spaces, footprint);
        var fixedBytes = MemoryEstimate.RuntimeBytes + 2 * modelBytes + dataBytes;
        // What is surely held at once while collecting: both models' taps of one batch, their
        // intermediate outputs (ResNet-20's stem and layer1 alone have 21 of 16 × 32 × 32) and the sums.
        var floor = 4L * 2 * (RealTaps(batch).Values.Sum() + batch * 21L * 16 * 32 * 32) + StatisticsMemory.Accumulating(Graph.Spaces, 2);
        var work = memory.Collect - fixedBytes;
        Assert.InRange(work, floor, 3 * floor);
        Assert.InRange(memory.Merge, memory.Collect, memory.Collect + 4 * modelBytes + StatisticsMemory.Finishing(Graph.Spaces, 2));
    }
}
