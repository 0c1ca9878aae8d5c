using System.Security.Cryptography;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace ZipIt.Engine.Evaluate;

/// <summary>
/// The <c>class-name-hash:D</c> class embeddings: each class a seeded Gaussian unit vector whose
/// seed is a hash of its name, so the same name gives the same vector on every machine, in every
/// run, for every task that contains it. Training pulls a clip head towards them; evaluation and
/// <c>data embeddings</c> regenerate them from the class names a checkpoint records.
/// </summary>
internal static class ClassNameEmbeddings
{
    /// <summary>The embedding spec a checkpoint records for these vectors: <c>class-name-hash:D</c>.</summary>
    public const string SpecPrefix = "class-name-hash:";

    /// <summary>Unit vectors [names.Count, dimension], row i for <paramref name="names"/>[i].</summary>
    public static Tensor For(IReadOnlyList<string> names, int dimension)
    {
        using var scope = NewDisposeScope();
        var rows = names.Select(name =>
        {
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(name));
            var seed = BitConverter.ToInt64(hash, 0) & long.MaxValue;
            return torch.randn([dimension], dtype: ScalarType.Float64, generator: new Generator((ulong)seed));
        }).ToList();
        return nn.functional.normalize(torch.stack(rows).to(ScalarType.Float32), dim: 1).MoveToOuterDisposeScope();
    }
}
