using TorchSharp;
using static TorchSharp.torch;

namespace ZipIt.Testing;

/// <summary>Seeded random weights that make every tensor matter to the output.</summary>
public static class TestWeights
{
    /// <summary>
    /// Overwrites every floating-point state tensor of <paramref name="model"/> with seeded random
    /// values, norm scales and shifts and BatchNorm running statistics included: a fresh model's
    /// γ = 1, β = 0, mean 0 and variance 1 are the same in every order, so a permutation that forgot
    /// them would go unnoticed. Tensors with two or more axes are scaled by their fan-in so deep
    /// networks stay in range. Names ending in <c>running_var</c> get values in [0.5, 1.5).
    /// </summary>
    public static void Randomise(nn.Module model, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var g = new Generator(seed);
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        foreach (var (name, t) in model.state_dict())
        {
            if (!t.is_floating_point() || t.numel() == 0) continue;
            var r = randn(t.shape, dtype: t.dtype, generator: g);
            Tensor value;
            if (name.EndsWith("running_var", StringComparison.Ordinal)) value = rand(t.shape, dtype: t.dtype, generator: g).add_(0.5);
            else if (name.EndsWith("running_mean", StringComparison.Ordinal)) value = r.mul(0.2);
            else if (t.dim() == 1 && name.EndsWith(".weight", StringComparison.Ordinal)) value = r.mul(0.25).add_(1.0);
            else if (t.dim() <= 1) value = r.mul(0.1);
            else value = r.mul(Math.Sqrt(1.0 / (t.numel() / Math.Max(1, t.shape[0]))));
            t.copy_(value);
        }
    }
}
