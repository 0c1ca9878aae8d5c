using TorchSharp;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Models;

internal static class WeightCheck
{
    /// <summary>Exit 3 naming the first tensor holding NaN or ±Inf: merging would spread it everywhere.</summary>
    public static void RequireFinite(LoadedModel model)
    {
        foreach (var module in model.Modules)
            foreach (var (name, tensor) in module.state_dict())
                if (tensor.is_floating_point() && !tensor.isfinite().all().item<bool>())
                    throw ZipItException.Input($"{model.Name}: tensor '{name}' contains NaN or infinite values");
    }
}
