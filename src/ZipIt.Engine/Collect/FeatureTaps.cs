using TorchSharp;
using static TorchSharp.torch;

namespace ZipIt.Engine.Collect;

/// <summary>
/// Forward hooks on one model at every tap of the given feature spaces. After a forward pass,
/// <see cref="Take"/> returns each space's features as [C, samples] float32 parts, one per tap:
/// the channel axis first, every other axis (batch, spatial positions, tokens) flattened into
/// samples (NaN/±Inf as they are: <see cref="CovarianceAccumulator"/> zeroes them).
/// </summary>
internal sealed class FeatureTaps : IDisposable
{
    private readonly List<Action> _removers = [];
    private readonly Dictionary<string, List<Tensor>> _captured = [];
    private readonly Dictionary<string, int> _widths = [];

    /// <param name="model">The model to observe.</param>
    /// <param name="spaces">The spaces whose taps to hook.</param>
    /// <param name="tapSets">
    /// Alternative tap sets the run selects (<c>--tap-set</c>): a space with taps in one of them is
    /// observed there instead of at its default taps; other spaces keep their defaults.
    /// </param>
    public FeatureTaps(nn.Module model, IEnumerable<FeatureSpace> spaces, IReadOnlyCollection<string>? tapSets = null)
    {
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);
        foreach (var space in spaces)
        {
            _captured[space.Name] = [];
            _widths[space.Name] = space.Width;
            // Alternative tap sets (FeatureTap.Set) are observed only when a run selects them.
            var selected = space.Taps.Where(t => t.Set is not null && tapSets is not null && tapSets.Contains(t.Set)).ToList();
            foreach (var tap in selected.Count > 0 ? selected : space.Taps.Where(t => t.Set is null))
            {
                if (!modules.TryGetValue(tap.Module, out var module) || module is not nn.Module<Tensor, Tensor> hookable)
                    throw new ArgumentException($"feature space '{space.Name}': tap module '{tap.Module}' is not a Module<Tensor, Tensor> of this model");
                var list = _captured[space.Name];
                var name = space.Name;
                // Hooks copy what they need: the model disposes its intermediate tensors as it goes.
                var handle = tap.Site == TapSite.Input
                    ? hookable.register_forward_pre_hook((_, x) => { list.Add(Flatten(x, tap, name)); return null!; })
                    : hookable.register_forward_hook((_, _, y) => { list.Add(Flatten(y, tap, name)); return null!; });
                _removers.Add(handle.remove);
            }
        }
    }

    /// <summary>
    /// The features of <paramref name="space"/> from the last forward pass: one [C, S] part per tap
    /// that fired, in tap order (several taps of one space are extra samples of it); the caller owns the tensors.
    /// </summary>
    public IReadOnlyList<Tensor> Take(string space)
    {
        var parts = _captured[space];
        if (parts.Count == 0) throw new InvalidOperationException($"feature space '{space}': no tap fired during the forward pass");
        var result = parts.ToArray();
        parts.Clear();
        return result;
    }

    private Tensor Flatten(Tensor x, FeatureTap tap, string space)
    {
        using var scope = torch.NewDisposeScope();
        var axis = tap.ChannelAxis < 0 ? x.dim() + tap.ChannelAxis : tap.ChannelAxis;
        var channels = x.transpose(0, axis); // the order of the other axes does not matter: they all become samples
        if (tap.Offset != 0 || tap.Length is not null)
            channels = channels.narrow(0, tap.Offset, tap.Length ?? channels.shape[0] - tap.Offset);
        if (channels.shape[0] != _widths[space])
            throw new ArgumentException($"feature space '{space}': the {tap} has {channels.shape[0]} channels, the space has {_widths[space]}");
        // One pass copies, transposes and converts into a tensor of our own (never a view of the
        // model's activation), so that the features can be centred in place.
        var copy = torch.empty(channels.shape, ScalarType.Float32, x.device);
        copy.copy_(channels);
        return copy.reshape([copy.shape[0], -1]).DetachFromDisposeScope();
    }

    public void Dispose()
    {
        foreach (var remove in _removers) remove();
        foreach (var list in _captured.Values)
        {
            foreach (var t in list) t.Dispose();
            list.Clear();
        }
    }
}
