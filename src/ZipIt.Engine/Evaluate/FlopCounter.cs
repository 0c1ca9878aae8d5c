using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ZipIt.Engine.Evaluate;

/// <summary>
/// Multiply-accumulates of one forward pass on one image, counted by hooks on every convolution and
/// linear layer that actually runs (fvcore's convention, which the paper reports as FLOPs): a
/// partial zip's trunk once plus each head.
/// </summary>
internal static class FlopCounter
{
    public static long Count(IReadOnlyList<nn.Module> modules, Action run)
    {
        long total = 0;
        var removers = new List<Action>();
        foreach (var module in modules.SelectMany(m => m.modules().Prepend(m)).Distinct())
        {
            switch (module)
            {
                case Conv2d conv:
                    removers.Add(conv.register_forward_hook((m, _, y) => { total += y.numel() * (conv.weight!.numel() / conv.weight.shape[0]); return null!; }).remove);
                    break;
                case Linear linear:
                    removers.Add(linear.register_forward_hook((m, _, y) => { total += y.numel() * linear.weight!.shape[1]; return null!; }).remove);
                    break;
            }
        }
        try
        {
            using var _ = torch.no_grad();
            run();
        }
        finally
        {
            foreach (var r in removers) r();
        }
        return total;
    }
}
