using TorchSharp;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Output;
using static TorchSharp.torch;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Data;

/// <summary>
/// Images (and optionally labels) from a safetensors file: tensor <c>images</c> [N, ...] (float)
/// and <c>labels</c> [N] (integer). The simplest way to hand zipit calibration or evaluation data
/// computed anywhere (e.g. saved from a PyTorch DataLoader).
/// </summary>
internal sealed class TensorDataset : IDisposable
{
    public const string ImagesTensor = "images";
    public const string LabelsTensor = "labels";

    private TensorDataset(string path, Tensor images, Tensor? labels)
    {
        Path = path;
        Images = images;
        Labels = labels;
    }

    public string Path { get; }
    public Tensor Images { get; }
    public Tensor? Labels { get; }
    public long Count => Images.shape[0];

    /// <summary>A dataset made in memory (float images [N, ...], int64 labels [N] or none); it owns both tensors.</summary>
    public static TensorDataset FromTensors(string name, Tensor images, Tensor? labels) => new(name, images, labels);

    /// <summary>Reads <paramref name="path"/>; at most <paramref name="limit"/> images (the first ones) when given.</summary>
    public static TensorDataset Load(string path, long? limit = null, bool labelsRequired = false)
    {
        // A folder would be opened as a checkpoint folder, and the error would list model file names.
        if (Directory.Exists(path))
            throw ZipItException.Input($"{path}: is a folder; the data is one .safetensors file with tensor '{ImagesTensor}' [N, C, H, W] and optionally '{LabelsTensor}' [N]");
        using var file = Checkpoint.Open(path);
        var name = System.IO.Path.GetFileName(file.Path);
        if (!file.Contains(ImagesTensor))
            throw ZipItException.Input($"{name} has no tensor '{ImagesTensor}' (expected images [N, C, H, W] and optionally labels [N])");
        var images = file.Read(ImagesTensor);
        if (!images.is_floating_point())
            throw ZipItException.Input($"{name}: tensor '{ImagesTensor}' is {images.dtype}; floating-point images are needed");
        if (images.dim() < 2)
            throw ZipItException.Input($"{name}: tensor '{ImagesTensor}' has shape {Format.Shape(images.shape)}; expected [N, ...]");
        Tensor? labels = null;
        if (file.Contains(LabelsTensor))
        {
            labels = file.Read(LabelsTensor);
            if (labels.is_floating_point() || labels.dim() != 1 || labels.shape[0] != images.shape[0])
                throw ZipItException.Input($"{name}: tensor '{LabelsTensor}' must be integer [N] with N = {images.shape[0]}, got {labels.dtype} {Format.Shape(labels.shape)}");
            labels = labels.to(ScalarType.Int64);
        }
        else if (labelsRequired)
        {
            throw ZipItException.Input($"{name} has no tensor '{LabelsTensor}'; labels are needed here");
        }
        if (limit is { } n && n < images.shape[0])
        {
            images = images.narrow(0, 0, n);
            labels = labels?.narrow(0, 0, n);
        }
        if (images.shape[0] == 0)
            throw ZipItException.Input($"{name}: tensor '{ImagesTensor}' holds no images (the set is empty)");
        var sanitized = images.to(ScalarType.Float32);
        if (!sanitized.isfinite().all().item<bool>())
            throw ZipItException.Input($"{name}: tensor '{ImagesTensor}' contains NaN or infinite values");
        return new TensorDataset(path, sanitized, labels);
    }

    /// <summary>Consecutive batches (views, no copies), in file order: deterministic.</summary>
    public IEnumerable<(Tensor Images, Tensor? Labels)> Batches(int batchSize)
    {
        for (long start = 0; start < Count; start += batchSize)
        {
            var length = Math.Min(batchSize, Count - start);
            yield return (Images.narrow(0, start, length), Labels?.narrow(0, start, length));
        }
    }

    public void Dispose()
    {
        Images.Dispose();
        Labels?.Dispose();
    }
}
