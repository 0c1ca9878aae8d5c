using TorchSharp;
using ZipIt.Engine.Data;
using ZipIt.Engine.Models;
using ZipIt.Engine.ResetBn;
using ZipIt.Engine.Zip;
using static TorchSharp.torch;

namespace ZipIt.Tests.Refit;

/// <summary>Models, merges and images in memory for the refit's proofs: no files, no CLI.</summary>
internal static class RefitTestSupport
{
    /// <summary>A loaded model of <paramref name="config"/> holding <paramref name="state"/> (or seeded random weights).</summary>
    public static LoadedModel Model(IArchitecture architecture, ArchitectureConfig config, string name, IReadOnlyDictionary<string, Tensor>? state = null, ulong seed = 1)
    {
        var model = architecture.Create(config);
        if (state is null) ZipIt.Testing.TestWeights.Randomise(model, seed);
        else
        {
            using var _ = no_grad();
            var own = model.state_dict();
            foreach (var (k, v) in state) own[k].copy_(v);
        }
        model.eval();
        return new LoadedModel(name, architecture, config, model, new Dictionary<string, string>(), architecture.Describe(config));
    }

    /// <summary><paramref name="bases"/> zipped by <paramref name="matches"/> up to <paramref name="stop"/> (null: a full zip), as a merge holds it in memory.</summary>
    public static LoadedModel Zip(IReadOnlyList<LoadedModel> bases, IReadOnlyDictionary<string, MatchResult> matches, int? stop = null)
    {
        using var zipped = Zipper.Zip(bases.Select(b => b.CpuState()).ToList(), bases[0].Graph, matches, stop, new ZipOptions());
        return ModelLoader.FromZipped(zipped, bases[0], "merged.safetensors", new Dictionary<string, string>(), CPU);
    }

    /// <summary>Seeded standard-normal images [count, 3, size, size] without labels.</summary>
    public static TensorDataset Images(int count, int size, ulong seed) =>
        TensorDataset.FromTensors("calibration", randn([count, 3, size, size], generator: new Generator(seed)), null);

    /// <summary>
    /// Sets every BatchNorm's statistics, in forward order, to the mean and unbiased variance of its
    /// input over all of <paramref name="data"/> with the model in eval mode (the layers before it
    /// already set): statistics that are exactly those of the model's own eval-mode activations. A
    /// reset in train mode is not: each layer after the first sees inputs normalised by the biased
    /// batch variance, n/(n − 1) off what eval mode uses.
    /// </summary>
    public static void SetSelfConsistentStatistics(LoadedModel model, TensorDataset data)
    {
        model.Model.eval();
        using var _ = no_grad();
        foreach (var bn in BatchNormReset.Layers(model.Model))
        {
            Tensor? seen = null;
            var hook = ((nn.Module<Tensor, Tensor>)bn).register_forward_pre_hook((_, x) => { seen ??= x.detach().clone().DetachFromDisposeScope(); return null!; });
            using (var scope = NewDisposeScope()) model.Forward(data.Images);
            hook.remove();
            using (seen)
            {
                bn.running_mean!.copy_(seen!.mean([0, 2, 3]));
                bn.running_var!.copy_(seen.var([0, 2, 3], unbiased: true));
            }
        }
    }

    /// <summary>Copies of every tensor of the model (trunk, heads), by module and key.</summary>
    public static Dictionary<string, Tensor> Snapshot(LoadedModel model)
    {
        var result = new Dictionary<string, Tensor>();
        for (var m = 0; m < model.Modules.Count; m++)
            foreach (var (k, v) in model.Modules[m].state_dict()) result[$"{m}:{k}"] = v.detach().clone();
        return result;
    }

    /// <summary>The keys whose tensors differ at all between two snapshots.</summary>
    public static IReadOnlyList<string> Changed(IReadOnlyDictionary<string, Tensor> before, IReadOnlyDictionary<string, Tensor> after) =>
        before.Keys.Where(k => !before[k].equal(after[k]).all().item<bool>()).Order(StringComparer.Ordinal).ToList();

    /// <summary>The model's outputs (every head) on <paramref name="input"/>, concatenated.</summary>
    public static Tensor Outputs(LoadedModel model, Tensor input)
    {
        foreach (var m in model.Modules) m.eval();
        using var _ = no_grad();
        return cat(model.Forward(input).ToArray(), 1);
    }

    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        Assert.Equal(a.shape, b.shape);
        return (a - b).abs().max().item<float>();
    }
}
