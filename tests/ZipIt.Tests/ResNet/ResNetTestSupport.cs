using TorchSharp;
using ZipIt.Checkpoints;
using ZipIt.Plugins.ResNet;
using static TorchSharp.torch;

namespace ZipIt.Tests.ResNet;

/// <summary>Fixture signatures exactly as the host builds them.</summary>
internal static class ResNetFixtures
{
    public static string Path(string folder, string name) => Repository.Fixture(folder, name);

    public static CheckpointSignature Signature(string path)
    {
        using var ckpt = Checkpoint.Open(path);
        return ZipIt.Models.ModelLoader.SignatureOf(ckpt);
    }
}

internal static class ResNetTestUtil
{
    public static readonly ResNetArchitecture Architecture = new();

    public static ArchitectureConfig Config(string variant, params (string Key, string Value)[] settings) =>
        Architecture.Configure(variant, settings.ToDictionary(s => s.Key, s => s.Value));

    public static Dictionary<string, long[]> Shapes(nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);

    /// <summary>A signature of an in-memory state dict, as if it had been saved to safetensors.</summary>
    public static CheckpointSignature Signature(Dictionary<string, Tensor> stateDict, IReadOnlyDictionary<string, string>? metadata = null) =>
        new(stateDict.ToDictionary(kv => kv.Key, kv => new TensorSignature(DTypeCode(kv.Value.dtype), kv.Value.shape)),
            metadata ?? new Dictionary<string, string>());

    private static string DTypeCode(ScalarType t) => t switch
    {
        ScalarType.Float32 => "F32",
        ScalarType.Int64 => "I64",
        _ => throw new NotSupportedException(t.ToString()),
    };

    /// <summary>
    /// Overwrites every floating-point state tensor with seeded random values, including norm affine
    /// parameters and BatchNorm running statistics, so a transform that forgets one of them changes
    /// the output. Conv/linear weights are fan-in scaled so deep nets stay in a sane range.
    /// </summary>
    public static void Randomise(nn.Module model, ulong seed)
    {
        using var g = new Generator(seed);
        using var _ = no_grad();
        foreach (var (name, t) in model.state_dict())
        {
            if (!t.is_floating_point()) continue;
            using var r = randn(t.shape, generator: g);
            Tensor value;
            if (name.EndsWith(".running_var", StringComparison.Ordinal)) value = rand(t.shape, generator: g).add_(0.5);
            else if (name.EndsWith(".running_mean", StringComparison.Ordinal)) value = r.mul(0.2);
            else if (t.dim() == 1 && name.EndsWith(".weight", StringComparison.Ordinal)) value = r.mul(0.25).add_(1.0);
            else if (t.dim() == 1) value = r.mul(0.1);
            else value = r.mul(Math.Sqrt(1.0 / (t.numel() / t.shape[0])));
            t.copy_(value);
            value.Dispose();
        }
    }

    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        Assert.Equal(a.shape, b.shape);
        using var d = (a - b).abs_().max();
        return d.ToDouble();
    }

    /// <summary>Runs <paramref name="model"/> in eval mode without gradients and returns a detached output.</summary>
    public static Tensor Eval(nn.Module<Tensor, Tensor> model, Tensor input)
    {
        model.eval();
        using var _ = no_grad();
        return model.call(input);
    }
}

/// <summary>
/// Applies a random permutation to every feature space of a <see cref="MergeGraph"/>, using only
/// the graph's description: each space's permutation is applied to every producer and norm axis
/// and the same permutation to every consumer axis. If the description is complete and correct the
/// permuted network computes exactly the same function.
/// </summary>
internal static class GraphPermutation
{
    /// <summary>A random permutation of the space's units; grouped spaces move whole contiguous groups and shuffle within groups.</summary>
    public static long[] RandomPermutation(FeatureSpace space, Generator g)
    {
        var groups = space.Groups?.Count ?? 1;
        var size = space.Groups?.SizeFor(space.Width) ?? space.Width;
        using var groupOrder = randperm(groups, generator: g);
        var order = groupOrder.data<long>().ToArray();
        var perm = new long[space.Width];
        for (var j = 0; j < groups; j++)
        {
            using var within = randperm(size, generator: g);
            var w = within.data<long>().ToArray();
            for (var i = 0; i < size; i++) perm[j * size + i] = order[j] * size + w[i];
        }
        return perm;
    }

    /// <summary>A permuted copy of <paramref name="stateDict"/>.</summary>
    public static Dictionary<string, Tensor> Apply(IReadOnlyDictionary<string, Tensor> stateDict, MergeGraph graph, ulong seed)
    {
        using var g = new Generator(seed);
        using var _ = no_grad();
        var result = stateDict.ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        foreach (var space in graph.Spaces)
        {
            using var perm = tensor(RandomPermutation(space, g));
            foreach (var axis in space.AllAxes)
            {
                var t = result[axis.Tensor];
                var length = axis.Length ?? t.shape[axis.Axis] - axis.Offset;
                using var slice = t.narrow(axis.Axis, axis.Offset, length);
                using var permuted = slice.index_select(axis.Axis, perm);
                slice.copy_(permuted);
            }
        }
        return result;
    }

    /// <summary>The graph with one consumer axis left out of one space: an incomplete description.</summary>
    public static MergeGraph DropConsumer(MergeGraph graph, string spaceName, int consumerIndex) =>
        graph with
        {
            Spaces = graph.Spaces.Select(s => s.Name != spaceName ? s : s with
            {
                Consumers = s.Consumers.Where((_, i) => i != consumerIndex).ToArray(),
            }).ToArray(),
        };
}
