using TorchSharp;
using static TorchSharp.torch;

namespace ZipIt.Engine.Repair;

/// <summary>
/// Forward hooks on one model that add the output channels of each <see cref="RepairSite"/> to its
/// <see cref="UnitMoments"/> as the module runs: the channel axis first, every other axis (images,
/// positions, tokens) samples. Statistics are taken inside the hook, so nothing of
/// the batch is kept once the forward pass returns.
/// </summary>
internal sealed class SiteCapture : IDisposable
{
    private readonly List<Action> _removers = [];

    /// <param name="model">The model to observe (its module paths are the sites').</param>
    /// <param name="sites">The sites and where each one's statistics go.</param>
    public SiteCapture(nn.Module model, IReadOnlyList<(RepairSite Site, UnitMoments Moments)> sites)
    {
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);
        foreach (var group in sites.GroupBy(s => s.Site.Module))
        {
            if (!modules.TryGetValue(group.Key, out var module) || module is not nn.Module<Tensor, Tensor> hookable)
                throw new ArgumentException($"repair: module '{group.Key}' is not a Module<Tensor, Tensor> of this model");
            var members = group.ToList();
            _removers.Add(hookable.register_forward_hook((_, _, y) =>
            {
                foreach (var (site, moments) in members) Add(y, site, moments);
                return null!;
            }).remove);
        }
    }

    private static void Add(Tensor y, RepairSite site, UnitMoments moments)
    {
        using var scope = torch.NewDisposeScope();
        var axis = site.ChannelAxis < 0 ? (int)y.dim() + site.ChannelAxis : site.ChannelAxis;
        if (axis < 0 || axis >= y.dim() || site.Offset + site.Units > y.shape[axis])
            throw new ArgumentException($"repair: the output of '{site.Module}' is [{string.Join(",", y.shape)}], which has no channels [{site.Offset}, {site.Offset + site.Units}) on axis {site.ChannelAxis}");
        // A view: the moments read it a block of units at a time, so the batch is never copied whole.
        var channels = y.narrow(axis, site.Offset, site.Units).movedim([axis], [0]);
        moments.Add(channels.dim() == 1 ? channels.unsqueeze(1) : channels);
    }

    public void Dispose()
    {
        foreach (var remove in _removers) remove();
        _removers.Clear();
    }
}
