using TorchSharp;
using static TorchSharp.torch;

namespace ZipIt.Engine.Data;

/// <summary>
/// Labelled images as a dataset stores them: <see cref="Images"/> uint8 [N, C, H, W],
/// <see cref="Labels"/> int64 [N] (the dataset's own class ids), and the dataset's class names.
/// Kept as bytes (a quarter of float32's memory); <see cref="ImageTransform"/> makes model inputs
/// a batch at a time.
/// </summary>
internal sealed class ImageSet : IDisposable
{
    public ImageSet(string name, Tensor images, Tensor labels, IReadOnlyList<string> classNames)
    {
        if (images.dtype != ScalarType.Byte || images.dim() != 4)
            throw new ArgumentException($"{name}: images must be uint8 [N, C, H, W], got {images.dtype} of rank {images.dim()}");
        if (labels.dtype != ScalarType.Int64 || labels.dim() != 1 || labels.shape[0] != images.shape[0])
            throw new ArgumentException($"{name}: labels must be int64 [N] with N = {images.shape[0]}");
        Name = name;
        Images = images;
        Labels = labels;
        ClassNames = classNames;
    }

    public string Name { get; }
    public Tensor Images { get; }
    public Tensor Labels { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public long Count => Images.shape[0];
    public int Channels => (int)Images.shape[1];

    /// <summary>The images at <paramref name="indices"/> (int64 [K]), in that order.</summary>
    public ImageSet Select(Tensor indices, string? name = null) =>
        new(name ?? Name, Images.index_select(0, indices), Labels.index_select(0, indices), ClassNames);

    /// <summary>Indices (int64) of the images whose label is one of <paramref name="classes"/>, in file order.</summary>
    public Tensor IndicesOf(IReadOnlyCollection<long> classes)
    {
        using var scope = NewDisposeScope();
        var mask = torch.zeros_like(Labels, dtype: ScalarType.Bool);
        foreach (var c in classes) mask = mask.logical_or(Labels.eq(c));
        return mask.nonzero().flatten().MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}
