using TorchSharp;
using static TorchSharp.torch;

namespace ZipIt.Engine.Refit;

/// <summary>
/// Forward hooks that gather, for one batch, every refit layer's input and target output in the
/// merged layout: each base model's contribution (<see cref="MergedLayout.Map"/>) is added to one
/// running sum per layer as its hook fires, so a batch holds one merged tensor per layer and side,
/// whatever the number of models. The merged model's own inputs (the sequential variant) are
/// already in the merged layout and are kept as they are. The hooks copy what they keep: a model
/// disposes its intermediate tensors as it goes.
/// </summary>
internal sealed class LayerCapture : IDisposable
{
    private readonly MergedLayout _layout;
    private readonly List<Action> _removers = [];
    private readonly Dictionary<string, Side> _inputs = [];
    private readonly Dictionary<string, Side> _outputs = [];

    /// <summary>One side (input or output) of one layer: the sums per call of the module in this batch, and which contributors gave how many.</summary>
    private sealed class Side
    {
        public readonly List<Tensor> Sums = [];
        public readonly Dictionary<int, int> Calls = [];
        public int Contributors;
    }

    public LayerCapture(MergedLayout layout) => _layout = layout;

    /// <summary>
    /// Hooks <paramref name="model"/>'s modules of <paramref name="layers"/>: their inputs when
    /// <paramref name="inputs"/>, their outputs when <paramref name="outputs"/>. <paramref name="index"/>
    /// is the base model's index (its contribution is mapped into the merged layout), or null for
    /// the merged model (taken as it is).
    /// </summary>
    public void Attach(nn.Module model, IReadOnlyList<RefitLayer> layers, int? index, bool inputs, bool outputs)
    {
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);
        var contributor = index ?? -1;
        foreach (var layer in layers)
        {
            if (!modules.TryGetValue(layer.Name, out var module) || module is not nn.Module<Tensor, Tensor> hookable)
                throw new ArgumentException($"layer '{layer.Name}' is not a module of the model");
            if (inputs)
            {
                var side = Register(_inputs, layer);
                var handle = hookable.register_forward_pre_hook((_, x) => { Add(side, contributor, () => Take(x, layer, index, layer.Inputs)); return null!; });
                _removers.Add(handle.remove);
            }
            if (outputs)
            {
                var side = Register(_outputs, layer);
                var handle = hookable.register_forward_hook((_, _, y) => { Add(side, contributor, () => Take(y, layer, index, layer.Outputs)); return null!; });
                _removers.Add(handle.remove);
            }
        }
    }

    /// <summary>
    /// The layer's (input, target) pairs of this batch, one per call of its module, once every
    /// contributor gave the same number of calls; empty when nothing was captured. The caller owns
    /// the tensors; the layer starts empty again.
    /// </summary>
    public IReadOnlyList<(Tensor Input, Tensor Target)> Take(RefitLayer layer)
    {
        var input = _inputs[layer.Name];
        var output = _outputs[layer.Name];
        if (input.Sums.Count == 0 && output.Sums.Count == 0) return [];
        try
        {
            foreach (var (side, what) in new[] { (input, "inputs"), (output, "outputs") })
                if (side.Calls.Count != side.Contributors || side.Calls.Values.Distinct().Count() != 1)
                    throw new InvalidOperationException(
                        $"layer '{layer.Name}': the models ran it different numbers of times in one batch ({what}: {string.Join(", ", side.Calls.OrderBy(c => c.Key).Select(c => c.Value))} of {side.Contributors} models)");
            if (input.Sums.Count != output.Sums.Count)
                throw new InvalidOperationException($"layer '{layer.Name}': {input.Sums.Count} inputs but {output.Sums.Count} outputs in one batch");
            var pairs = input.Sums.Zip(output.Sums).ToList();
            input.Sums.Clear();
            output.Sums.Clear();
            return pairs;
        }
        finally
        {
            foreach (var side in new[] { input, output })
            {
                foreach (var t in side.Sums) t.Dispose();
                side.Sums.Clear();
                side.Calls.Clear();
            }
        }
    }

    private static Side Register(Dictionary<string, Side> sides, RefitLayer layer)
    {
        if (!sides.TryGetValue(layer.Name, out var side)) sides[layer.Name] = side = new Side();
        side.Contributors++;
        return side;
    }

    // Model i's share of the merged layout, or (the merged model) a copy of its own tensor.
    private Tensor Take(Tensor x, RefitLayer layer, int? index, IReadOnlyList<ChannelSlice> slices) => index is { } i
        ? _layout.Map(x, i, layer.ChannelAxis(x), slices)
        : x.to(ScalarType.Float32, copy: true);

    private static void Add(Side side, int contributor, Func<Tensor> take)
    {
        var call = side.Calls.GetValueOrDefault(contributor);
        side.Calls[contributor] = call + 1;
        // Our own scope: the module's forward may run in a scope of its own that would dispose what we keep.
        using var scope = torch.NewDisposeScope();
        var part = take();
        if (call < side.Sums.Count)
        {
            var sum = side.Sums[call];
            if (!sum.shape.SequenceEqual(part.shape))
                throw new InvalidOperationException($"the models' tensors at one layer differ in shape: [{string.Join(",", sum.shape)}] and [{string.Join(",", part.shape)}]");
            sum.add_(part);
        }
        else
            side.Sums.Add(part.DetachFromDisposeScope());
    }

    public void Dispose()
    {
        foreach (var remove in _removers) remove();
        _removers.Clear();
        foreach (var side in _inputs.Values.Concat(_outputs.Values))
        {
            foreach (var t in side.Sums) t.Dispose();
            side.Sums.Clear();
        }
    }
}
