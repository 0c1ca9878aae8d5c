using TorchSharp;
using ZipIt.Engine.Checkpoints;
using static TorchSharp.torch;
using ZipIt.Engine.Core;
using ZipIt.Engine.Evaluate;

namespace ZipIt.Engine.Train;

/// <summary>
/// The shared output space of class-embedding heads (ZipIt! §7.2, where CLIP text embeddings play
/// this part): one unit vector per class. Models trained on different tasks are pulled towards the
/// same vectors, so their outputs can be compared and merged. Without a file, each class gets its
/// <see cref="ClassNameEmbeddings"/> vector (a seeded Gaussian hashed from its name).
/// </summary>
internal static class ClassEmbeddings
{
    public const int DefaultDimension = 128;
    public const string Tensor = "embeddings";

    /// <summary>Unit vectors [names.Count, dimension], row i for <paramref name="names"/>[i].</summary>
    public static Tensor FromNames(IReadOnlyList<string> names, int dimension)
    {
        if (dimension < 2) throw ZipItException.Usage($"--embedding-dim must be at least 2, got {dimension}");
        return ClassNameEmbeddings.For(names, dimension);
    }

    /// <summary>Rows of tensor <c>embeddings</c> [K, D] of <paramref name="path"/> for class ids <paramref name="classes"/>, normalised.</summary>
    public static Tensor FromFile(string path, IReadOnlyList<long> classes)
    {
        using var file = Checkpoint.Open(path);
        var name = Path.GetFileName(file.Path);
        if (!file.Contains(Tensor)) throw ZipItException.Input($"{name} has no tensor '{Tensor}' [K, D] (one row per class id)");
        using var all = file.Read(Tensor);
        if (all.dim() != 2 || !all.is_floating_point()) throw ZipItException.Input($"{name}: tensor '{Tensor}' must be floating-point [K, D]");
        var missing = classes.Where(c => c >= all.shape[0]).ToList();
        if (missing.Count > 0) throw ZipItException.Input($"{name}: tensor '{Tensor}' has {all.shape[0]} rows; class {missing[0]} has none");
        using var scope = NewDisposeScope();
        var rows = all.to(ScalarType.Float32).index_select(0, torch.tensor(classes.ToArray()));
        return nn.functional.normalize(rows, dim: 1).MoveToOuterDisposeScope();
    }
}
