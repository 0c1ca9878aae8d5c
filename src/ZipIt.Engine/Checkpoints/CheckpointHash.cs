using System.Security.Cryptography;
using System.Text;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Checkpoints;

/// <summary>
/// The SHA-256 of a checkpoint as people check it: of the file's bytes (what <c>sha256sum</c> and
/// the Hugging Face Hub show) for a one-file checkpoint; for a sharded one (an index), of its
/// <c>sha256sum</c>-style manifest: a line "HASH  FILE" per tensor file, in file-name order.
/// </summary>
internal static class CheckpointHash
{
    /// <summary>Lower-case hex SHA-256 of <paramref name="path"/> (a tensor file or an index).</summary>
    public static string Sha256(string path)
    {
        var full = Path.GetFullPath(path);
        if (!full.EndsWith(".index.json", StringComparison.Ordinal)) return OfFile(full);
        using var checkpoint = Checkpoint.Open(full);
        var manifest = new StringBuilder();
        foreach (var file in checkpoint.Files) manifest.Append(OfFile(file)).Append("  ").Append(Path.GetFileName(file)).Append('\n');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(manifest.ToString())));
    }

    private static string OfFile(string file)
    {
        try
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
            return Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw ZipItException.Input($"{file}: cannot read to hash it ({Messages.OneLine(e.Message)})", e);
        }
    }
}
