using System.CommandLine;
using ZipIt.Engine.Core;

namespace ZipIt.Commands;

/// <summary>The options of every command that runs models over data.</summary>
internal static class DataOptions
{
    public static Option<string> Data() => new("--data")
    {
        Description = "A .safetensors file with tensor 'images' [N, C, H, W] (float) and, where needed, 'labels' [N] (integer).",
        Required = true,
        HelpName = "FILE",
    };

    public static Option<long?> Images() => new("--images") { Description = "Use only the first N images.", HelpName = "N" };

    public static Option<int> BatchSize() => new("--batch-size") { Description = "Images per forward pass.", DefaultValueFactory = _ => 100, HelpName = "N" };

    public static void Validate(long? images, int batchSize)
    {
        if (batchSize < 1) throw ZipItException.Usage($"--batch-size must be at least 1, got {batchSize}");
        if (images is < 1) throw ZipItException.Usage($"--images must be at least 1, got {images}");
    }
}
