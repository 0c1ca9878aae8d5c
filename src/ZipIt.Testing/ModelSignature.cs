using TorchSharp;
using static TorchSharp.torch;

namespace ZipIt.Testing;

/// <summary>
/// What the host sees of a model when it loads a checkpoint: state-dict names, safetensors dtype
/// codes and shapes. Lets a test ask <see cref="IArchitecture.Recognize"/> and
/// <see cref="MergeGraph.Validate"/> about an in-memory model exactly as about a saved one.
/// </summary>
public static class ModelSignature
{
    /// <summary>Every state-dict tensor of <paramref name="model"/> by key.</summary>
    public static IReadOnlyDictionary<string, TensorSignature> Tensors(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.state_dict().ToDictionary(kv => kv.Key, kv => new TensorSignature(DTypeCode(kv.Key, kv.Value.dtype), kv.Value.shape));
    }

    /// <summary>The checkpoint signature of <paramref name="model"/> saved with <paramref name="metadata"/> (none by default).</summary>
    public static CheckpointSignature Of(nn.Module model, IReadOnlyDictionary<string, string>? metadata = null) =>
        new(Tensors(model), metadata ?? new Dictionary<string, string>());

    private static string DTypeCode(string name, ScalarType type) => type switch
    {
        ScalarType.Float32 => "F32",
        ScalarType.Float64 => "F64",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Int16 => "I16",
        ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8",
        ScalarType.Bool => "BOOL",
        _ => throw new ConformanceException($"tensor '{name}' has dtype {type}, which a safetensors checkpoint cannot hold"),
    };
}
