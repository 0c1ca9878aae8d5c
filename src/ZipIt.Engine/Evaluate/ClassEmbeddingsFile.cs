using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Core;
using static TorchSharp.torch;

namespace ZipIt.Engine.Evaluate;

/// <summary>The class embeddings a clip head is scored against: a safetensors file with tensor <c>embeddings</c> [K, D], row c for class c.</summary>
internal static class ClassEmbeddingsFile
{
    public const string Tensor = "embeddings";

    public static Tensor Read(string path)
    {
        using var file = Checkpoint.Open(path);
        if (!file.Contains(Tensor))
            throw ZipItException.Input($"{Path.GetFileName(file.Path)} has no tensor '{Tensor}' [K, D]");
        var t = file.Read(Tensor);
        if (!t.is_floating_point() || t.dim() != 2)
            throw ZipItException.Input($"{Path.GetFileName(file.Path)}: tensor '{Tensor}' must be floating-point [K, D], got {t.dtype} {Output.Format.Shape(t.shape)}");
        return t.to(ScalarType.Float32);
    }
}
