using TorchSharp;
using static TorchSharp.torch;

namespace ZipIt.Engine.Refit;

/// <summary>
/// Maps one base model's activations into the merged model's layout, channel run by channel run:
/// the channels of merge point P by model i's block of P's merge matrix, M̃ᵢ = Merge[:, i·C:(i+1)·C]
/// (so that Σᵢ M̃ᵢ xᵢ is the merge matrix applied to the models' stacked features, the merged
/// features zip's averaging stands for), and the model's own inputs and outputs, which every model
/// shares, by 1/N (their mean).
/// </summary>
internal sealed class MergedLayout : IDisposable
{
    private readonly Dictionary<string, Tensor[]> _blocks = [];

    /// <param name="matches">(M, U) of every merge point the layers touch, M [C, N·C].</param>
    /// <param name="models">N.</param>
    /// <param name="device">Where the activations are.</param>
    public MergedLayout(IReadOnlyDictionary<string, MatchResult> matches, int models, Device device)
    {
        Models = models;
        foreach (var (name, match) in matches)
        {
            var merge = match.Merge;
            if (merge.dim() != 2 || merge.shape[1] != merge.shape[0] * models)
                throw new ArgumentException($"merge point '{name}': a merge matrix [C, {models}·C] is needed, got [{string.Join(",", merge.shape)}]");
            var c = merge.shape[0];
            _blocks[name] = Enumerable.Range(0, models)
                .Select(i => merge.narrow(1, i * c, c).to(ScalarType.Float32).to(device).contiguous().DetachFromDisposeScope()).ToArray();
        }
    }

    /// <summary>N, the base models.</summary>
    public int Models { get; }

    /// <summary>
    /// Model <paramref name="model"/>'s share of the merged-layout tensor: <paramref name="x"/> with
    /// each run of <paramref name="slices"/> on <paramref name="axis"/> mapped as the class says. A
    /// new float32 tensor of <paramref name="x"/>'s shape, in the current dispose scope.
    /// </summary>
    public Tensor Map(Tensor x, int model, int axis, IReadOnlyList<ChannelSlice> slices)
    {
        if (model < 0 || model >= Models) throw new ArgumentOutOfRangeException(nameof(model), $"model {model} of {Models}");
        var parts = new List<Tensor>();
        foreach (var slice in slices)
        {
            var part = x.narrow(axis, slice.Offset, slice.Length).to(ScalarType.Float32);
            if (slice.Space is null)
            {
                parts.Add(part / Models);
                continue;
            }
            if (!_blocks.TryGetValue(slice.Space, out var blocks))
                throw new ArgumentException($"merge point '{slice.Space}' has no matches");
            var m = blocks[model];
            if (m.shape[1] != slice.Length)
                throw new ArgumentException($"merge point '{slice.Space}': a run of {slice.Length} channels for a {m.shape[0]}×{m.shape[1]} merge block");
            // Channels last, one product with M̃ᵢᵀ, and back.
            parts.Add(torch.matmul(part.transpose(axis, -1), m.t()).transpose(axis, -1));
        }
        return parts.Count == 1 ? parts[0].contiguous() : torch.cat(parts, axis);
    }

    public void Dispose()
    {
        foreach (var blocks in _blocks.Values) foreach (var b in blocks) b.Dispose();
        _blocks.Clear();
    }
}
