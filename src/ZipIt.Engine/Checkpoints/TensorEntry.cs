using ScalarType = TorchSharp.torch.ScalarType;

namespace ZipIt.Engine.Checkpoints;

/// <summary>
/// One tensor as a safetensors header (or a torch.save pickle) describes it: where its bytes are,
/// not the bytes themselves.
/// </summary>
/// <remarks>For a torch.save file, <see cref="Begin"/> is the file offset of the tensor's first
/// element in its storage and <see cref="End"/> is <see cref="Begin"/> + <see cref="ByteLength"/>;
/// a strided view's elements need not all lie in that span, and tensors sharing a storage may
/// overlap.</remarks>
/// <param name="Name">The tensor's key in the header (the state-dict key).</param>
/// <param name="DType">The safetensors dtype code, always one of <see cref="SafetensorsDType.SupportedCodes"/>.</param>
/// <param name="Shape">The dimensions; empty for a 0-d scalar. Do not modify.</param>
/// <param name="FilePath">The full path of the .safetensors file (the shard) that holds the bytes.</param>
/// <param name="Begin">Absolute byte offset in <paramref name="FilePath"/> of the first byte.</param>
/// <param name="End">Absolute byte offset one past the last byte (<c>End - Begin == ByteLength</c>).</param>
public sealed record TensorEntry(string Name, string DType, long[] Shape, string FilePath, long Begin, long End)
{
    /// <summary>The product of <see cref="Shape"/> (1 for a scalar, 0 for an empty tensor).</summary>
    public long NumElements { get; } = Product(Shape);

    /// <summary>The number of data bytes: <see cref="NumElements"/> × the element size.</summary>
    public long ByteLength => End - Begin;

    /// <summary>The TorchSharp type of <see cref="DType"/>.</summary>
    public ScalarType ScalarType => SafetensorsDType.ToScalarType(DType);

    /// <summary>"F32[32, 3, 3, 3]"-style text for messages and listings.</summary>
    public string Describe() => $"{DType}[{string.Join(", ", Shape)}]";

    private static long Product(long[] shape)
    {
        long n = 1;
        foreach (var d in shape) n = checked(n * d);
        return n;
    }
}
