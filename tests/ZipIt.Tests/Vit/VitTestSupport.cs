using TorchSharp;
using ZipIt.Engine.Checkpoints;
using ZipIt.Plugins.Vit;
using static TorchSharp.torch;
using ZipIt.Engine.Core;
using ZipIt.Matching;

namespace ZipIt.Tests.Vit;

internal static class VitTestUtil
{
    public static readonly VitArchitecture Architecture = new();

    public static ArchitectureConfig Config(string variant, params (string Key, string Value)[] settings) =>
        Architecture.Configure(variant, settings.ToDictionary(s => s.Key, s => s.Value));

    public static CheckpointSignature FixtureSignature(string name)
    {
        using var ckpt = Checkpoint.Open(Repository.Fixture("parity", name + ".safetensors"));
        return ZipIt.Engine.Models.ModelLoader.SignatureOf(ckpt);
    }

    /// <summary>A fixture model loaded into our VisionTransformer (recognised from its keys and metadata).</summary>
    public static (StagedModel Model, ArchitectureConfig Config) LoadFixture(string name)
    {
        var config = Architecture.Recognize(FixtureSignature(name)) ?? throw new InvalidOperationException($"{name} not recognised");
        var model = Architecture.Create(config);
        using var ckpt = Checkpoint.Open(Repository.Fixture("parity", name + ".safetensors"));
        var weights = ckpt.ReadAll();
        model.load_state_dict(weights, strict: true);
        foreach (var t in weights.Values) t.Dispose();
        model.eval();
        return (model, config);
    }

    public static Tensor Eval(nn.Module<Tensor, Tensor> model, Tensor input) => ZipIt.Tests.ResNet.ResNetTestUtil.Eval(model, input);

    public static double MaxAbsDiff(Tensor a, Tensor b) => ZipIt.Tests.ResNet.ResNetTestUtil.MaxAbsDiff(a, b);

    public static Tensor FixtureInput(string name)
    {
        using var io = Checkpoint.Open(Repository.Fixture("parity", name + ".io.safetensors"));
        return io.Read("input");
    }
}

/// <summary>
/// Permutes every feature space of a ViT's <see cref="MergeGraph"/> through its axes only, with
/// permutation matrices applied by <see cref="AxisTransform"/> (producers and norms by P, consumers
/// by Pᵀ). Grouped spaces move whole heads and shuffle within heads; spaces with one
/// <see cref="FeatureSpace.GroupTie"/> share one head order (unless <c>untie</c>), each keeps its
/// own within-head order.
/// </summary>
internal static class VitPermutation
{
    public static Dictionary<string, Tensor> Apply(IReadOnlyDictionary<string, Tensor> stateDict, MergeGraph graph, ulong seed, bool untie = false)
    {
        using var g = new Generator(seed);
        using var _ = no_grad();
        var result = stateDict.ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        var headOrders = new Dictionary<string, long[]>();
        foreach (var space in graph.Spaces)
        {
            var groups = space.Groups?.Count ?? 1;
            var size = space.Width / groups;
            long[] order;
            if (space.GroupTie is { } tie && headOrders.TryGetValue(tie, out var shared))
                // Untied: the later space of a tie gets the shared order rotated by one, so its heads surely move differently.
                order = untie ? shared.Skip(1).Append(shared[0]).ToArray() : shared;
            else
            {
                using var o = randperm(groups, generator: g);
                order = o.data<long>().ToArray();
                if (untie && groups > 1 && order.SequenceEqual(order.Skip(1).Append(order[0]))) throw new InvalidOperationException();
                if (space.GroupTie is { } t) headOrders[t] = order;
            }
            var perm = new long[space.Width];
            for (var j = 0; j < groups; j++)
            {
                using var within = randperm(size, generator: g);
                var w = within.data<long>().ToArray();
                for (var i = 0; i < size; i++) perm[j * size + i] = order[j] * size + w[i];
            }
            using var p = zeros(space.Width, space.Width);
            for (var i = 0; i < space.Width; i++) p[i, perm[i]] = tensor(1f);
            using var pt = p.t().contiguous();
            foreach (var axis in space.Producers.Concat(space.Norms)) AxisTransform.Merge(result[axis.Tensor], axis, p);
            foreach (var axis in space.Consumers) AxisTransform.Unmerge(result[axis.Tensor], axis, pt);
        }
        return result;
    }
}
