using TorchSharp;
using ZipIt.Engine.Data;
using ZipIt.Engine.Models;
using ZipIt.Engine.Repair;
using ZipIt.Engine.Zip;
using static TorchSharp.torch;

namespace ZipIt.Tests.Repair;

/// <summary>Models, merges, images and independent statistics in memory for REPAIR's proofs: no files, no CLI.</summary>
internal static class RepairTestSupport
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
    /// Matches of two models that are no permutation: per space, with B's units drawn in a seeded
    /// random order p, merged unit 0 is {A₀, A₁, B_p₀} (three members, one same-model pair), unit 1
    /// is B_p₁ alone, and unit j ≥ 2 is {A_j, B_pj}; M̃ averages each group (1/size), U marks it.
    /// </summary>
    public static Dictionary<string, MatchResult> UnevenMatches(MergeGraph graph, ulong seed)
    {
        using var g = new Generator(seed);
        var matches = new Dictionary<string, MatchResult>();
        foreach (var space in graph.Spaces)
        {
            var c = space.Width;
            var p = randperm(c, generator: g).data<long>().ToArray();
            var groups = new List<long[]> { new[] { 0L, 1L, c + p[0] }, new[] { c + p[1] } };
            for (var j = 2; j < c; j++) groups.Add([j, c + p[j]]);
            var merge = zeros(c, 2 * c);
            var unmerge = zeros(2 * c, c);
            for (var k = 0; k < c; k++)
                foreach (var member in groups[k])
                {
                    merge[k, member] = 1.0f / groups[k].Length;
                    unmerge[member, k] = 1;
                }
            matches[space.Name] = new MatchResult(merge, unmerge);
        }
        return matches;
    }

    /// <summary>
    /// Each site's units' mean and population standard deviation [L] (float64) in <paramref name="model"/>
    /// on <paramref name="data"/>: every output of the site's module kept and reduced at once, not streamed.
    /// </summary>
    public static Dictionary<RepairSite, (Tensor Mean, Tensor Std)> Measure(StagedModel model, IReadOnlyList<RepairSite> sites, TensorDataset data)
    {
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);
        var seen = sites.ToDictionary(s => s, _ => new List<Tensor>());
        var removers = new List<Action>();
        foreach (var site in sites)
        {
            var list = seen[site];
            removers.Add(((nn.Module<Tensor, Tensor>)modules[site.Module]).register_forward_hook((_, _, y) =>
            {
                var axis = site.ChannelAxis < 0 ? (int)y.dim() + site.ChannelAxis : site.ChannelAxis;
                list.Add(y.narrow(axis, site.Offset, site.Units).movedim([axis], [0]).reshape(site.Units, -1).to(ScalarType.Float64).DetachFromDisposeScope());
                return null!;
            }).remove);
        }
        try
        {
            model.eval();
            using var _ = no_grad();
            using (NewDisposeScope()) model.forward_stages(data.Images, 0, sites.Max(s => s.Stage) + 1);
        }
        finally
        {
            foreach (var remove in removers) remove();
        }
        return seen.ToDictionary(kv => kv.Key, kv =>
        {
            using var all = cat(kv.Value.ToArray(), 1);
            foreach (var t in kv.Value) t.Dispose();
            return (all.mean([1]), all.std([1], unbiased: false));
        });
    }

    /// <summary>Each site's targets computed independently: the base models' measured statistics stacked in model order, times the point's M̃.</summary>
    public static Dictionary<RepairSite, (Tensor Mean, Tensor Std)> Targets(IReadOnlyList<LoadedModel> bases, IReadOnlyList<RepairSite> sites,
        IReadOnlyDictionary<string, MatchResult> matches, TensorDataset data)
    {
        var measured = bases.Select(b => Measure(b.Model, sites, data)).ToList();
        return sites.ToDictionary(s => s, s =>
        {
            var merge = matches[s.Space].Merge.to(ScalarType.Float64);
            return (mv(merge, cat(measured.Select(m => m[s].Mean).ToArray())), mv(merge, cat(measured.Select(m => m[s].Std).ToArray())));
        });
    }

    /// <summary>Copies of every tensor of the model (trunk, heads), by module and key.</summary>
    public static Dictionary<string, Tensor> Snapshot(LoadedModel model)
    {
        var result = new Dictionary<string, Tensor>();
        for (var m = 0; m < model.Modules.Count; m++)
            foreach (var (k, v) in model.Modules[m].state_dict()) result[$"{m}:{k}"] = v.detach().clone();
        return result;
    }

    /// <summary>The largest absolute difference of any tensor between two snapshots.</summary>
    public static double MaxChange(IReadOnlyDictionary<string, Tensor> before, IReadOnlyDictionary<string, Tensor> after) =>
        before.Keys.Max(k => before[k].is_floating_point() ? (before[k] - after[k]).abs().max().item<float>() : 0.0);

    /// <summary>The keys whose tensors differ in any bit between two snapshots.</summary>
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
