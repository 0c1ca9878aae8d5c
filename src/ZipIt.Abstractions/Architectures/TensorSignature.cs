namespace ZipIt;

/// <summary>A tensor's element type (safetensors code: <c>F32</c>, <c>I64</c>, ...) and shape.</summary>
public sealed record TensorSignature(string DType, long[] Shape)
{
    public override string ToString() => $"{DType}[{string.Join(",", Shape)}]";
}
