using TorchSharp;
using ZipIt.Engine.Core;
using static TorchSharp.torch;

namespace ZipIt.Engine.Checkpoints;

/// <summary>
/// The float type a written checkpoint stores (<c>--dtype f32|f16|bf16</c> of <c>convert</c> and
/// <c>merge</c>): floating-point tensors take it, integer and boolean tensors keep theirs.
/// </summary>
internal static class StorageDType
{
    /// <summary>The accepted names, for help texts.</summary>
    public const string Names = "f32, f16 or bf16";

    /// <summary><c>f32</c>/<c>float32</c>, <c>f16</c>/<c>float16</c>, <c>bf16</c>/<c>bfloat16</c>; null for null; exit 2 for anything else.</summary>
    public static ScalarType? Parse(string? name) => name?.ToLowerInvariant() switch
    {
        null => null,
        "f32" or "float32" => ScalarType.Float32,
        "f16" or "float16" => ScalarType.Float16,
        "bf16" or "bfloat16" => ScalarType.BFloat16,
        _ => throw ZipItException.Usage($"--dtype {name}: expected {Names}"),
    };

    /// <summary>The short name (<c>f32</c>, <c>f16</c>, <c>bf16</c>) of a storage type.</summary>
    public static string Name(ScalarType type) => type switch
    {
        ScalarType.Float32 => "f32",
        ScalarType.Float16 => "f16",
        ScalarType.BFloat16 => "bf16",
        _ => type.ToString(),
    };

    /// <summary>Whether <paramref name="tensor"/> is stored differently under <paramref name="target"/>.</summary>
    public static bool Changes(Tensor tensor, ScalarType? target) =>
        target is { } t && tensor.is_floating_point() && tensor.dtype != t;

    /// <summary>A new tensor of <paramref name="target"/> when it <see cref="Changes"/> <paramref name="tensor"/>; otherwise the tensor itself.</summary>
    public static Tensor Cast(Tensor tensor, ScalarType? target) => Changes(tensor, target) ? tensor.to_type(target!.Value) : tensor;

    /// <summary>
    /// Rounds a floating-point tensor in place to the values <paramref name="target"/> can hold,
    /// keeping its own type: what a model computes afterwards is what the stored checkpoint computes
    /// when loaded back to float32.
    /// </summary>
    public static void RoundInPlace(Tensor tensor, ScalarType target)
    {
        if (!Changes(tensor, target)) return;
        using var _ = torch.no_grad();
        using var rounded = tensor.to_type(target);
        tensor.copy_(rounded);
    }
}
