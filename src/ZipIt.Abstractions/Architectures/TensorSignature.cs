namespace ZipIt;

/// <summary>A tensor's element type (safetensors code: <c>F32</c>, <c>I64</c>, ...) and shape.</summary>
public sealed record TensorSignature(string DType, long[] Shape)
{
    /// <summary>True for floating-point codes (<c>F64</c>, <c>F32</c>, <c>F16</c>, <c>BF16</c>, the <c>F8_*</c> codes): the tensors a merge transforms.</summary>
    public bool IsFloatingPoint => DType.StartsWith('F') || DType == "BF16";

    /// <summary><c>F32[64,3,3,3]</c>.</summary>
    public override string ToString() => $"{DType}[{string.Join(",", Shape)}]";
}
