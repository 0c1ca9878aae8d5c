using System.CommandLine;
using ZipIt.Engine.Core;

namespace ZipIt.Commands;

/// <summary>The options of every command that runs models over data.</summary>
internal static class DataOptions
{
    /// <summary>What every data option accepts, for its help.</summary>
    public const string SourceHelp =
        "a .safetensors file (tensor 'images' [N, C, H, W], taken as is; 'labels' [N] where needed), a dataset spec NAME[:SPLIT][:CLASSES] "
        + "(fashion-mnist:train:0-4, mnist:test, cifar10), or an image folder (a subfolder per class, or flat for calibration)";

    public static Option<string> Data(string purpose = "The images") => new("--data")
    {
        Description = $"{purpose}: {SourceHelp}.",
        Required = true,
        HelpName = "SOURCE",
    };

    /// <summary><c>--preprocess</c>: how datasets and folders become model inputs, over what the models record.</summary>
    public static Option<string[]> Preprocess() => new("--preprocess")
    {
        Description = "How dataset and folder images become model inputs, over what the models record (zipit.preprocess, a timm config.json, the training task): "
            + "a preset (imagenet, cifar10) and/or KEY=VALUE items size, channels, mean, std (comma-separated lists), resize (pad|resize|crop), crop-pct, interpolation. Repeatable.",
        Arity = ArgumentArity.OneOrMore,
        AllowMultipleArgumentsPerToken = true,
        HelpName = "ITEM",
    };

    public static Option<long?> Images() => new("--images") { Description = "Use at most N images: a tensor file's first N, a dataset's or folder's N drawn class-balanced (seeded).", HelpName = "N" };

    public static Option<int> BatchSize() => new("--batch-size") { Description = "Images per forward pass.", DefaultValueFactory = _ => 100, HelpName = "N" };

    public static void Validate(long? images, int batchSize)
    {
        if (batchSize < 1) throw ZipItException.Usage($"--batch-size must be at least 1, got {batchSize}");
        if (images is < 1) throw ZipItException.Usage($"--images must be at least 1, got {images}");
    }
}
