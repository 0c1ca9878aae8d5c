using System.Buffers.Binary;
using System.IO.Compression;
using TorchSharp;
using static TorchSharp.torch;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Data;

/// <summary>
/// The IDX format of MNIST and Fashion-MNIST: <c>train-images-idx3-ubyte</c>,
/// <c>train-labels-idx1-ubyte</c>, <c>t10k-images-idx3-ubyte</c>, <c>t10k-labels-idx1-ubyte</c>,
/// each raw or gzipped (<c>.gz</c>). Big-endian header: magic (0, 0, type 0x08 = ubyte, rank), then
/// one uint32 per dimension.
/// </summary>
internal sealed class IdxFormat : DatasetFormat
{
    public override string Name => "idx";

    public override bool Recognises(string folder) => Find(folder, "train-images-idx3-ubyte") is not null;

    public override DatasetSplits Read(string folder, IReadOnlyList<string>? classNames)
    {
        var train = ReadPart(folder, "train", classNames);
        try { return new DatasetSplits(train, ReadPart(folder, "t10k", train.ClassNames)); }
        catch { train.Dispose(); throw; }
    }

    private static ImageSet ReadPart(string folder, string prefix, IReadOnlyList<string>? classNames)
    {
        var imagesPath = Require(folder, $"{prefix}-images-idx3-ubyte");
        var labelsPath = Require(folder, $"{prefix}-labels-idx1-ubyte");
        var (imageDims, pixels) = ReadIdx(imagesPath);
        var (labelDims, labelBytes) = ReadIdx(labelsPath);
        if (imageDims.Length != 3) throw ZipItException.Input($"{imagesPath}: expected rank-3 images [N, H, W], got rank {imageDims.Length}");
        if (labelDims.Length != 1) throw ZipItException.Input($"{labelsPath}: expected rank-1 labels [N], got rank {labelDims.Length}");
        if (labelDims[0] != imageDims[0])
            throw ZipItException.Input($"{labelsPath}: {labelDims[0]} labels for {imageDims[0]} images in {Path.GetFileName(imagesPath)}");
        var labels = labelBytes.Select(b => (long)b).ToArray();
        var names = classNames ?? Enumerable.Range(0, labels.Length == 0 ? 0 : (int)labels.Max() + 1).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        if (labels.Length > 0 && labels.Max() >= names.Count)
            throw ZipItException.Input($"{labelsPath}: label {labels.Max()} has no class name ({names.Count} classes)");
        var images = torch.tensor(pixels, [imageDims[0], 1, imageDims[1], imageDims[2]], ScalarType.Byte);
        return new ImageSet($"{Path.GetFileName(folder)}/{prefix}", images, torch.tensor(labels), names);
    }

    private static string Require(string folder, string stem) =>
        Find(folder, stem) ?? throw ZipItException.Input($"{folder}: no {stem} or {stem}.gz (an IDX dataset needs train-/t10k- images and labels)");

    private static string? Find(string folder, string stem)
    {
        foreach (var name in new[] { stem, stem + ".gz" })
        {
            var path = Path.Combine(folder, name);
            if (File.Exists(path)) return path;
        }
        return null;
    }

    /// <summary>Dimensions and the uint8 payload of an IDX file (raw or gzip, told apart by the gzip magic).</summary>
    internal static (int[] Dims, byte[] Data) ReadIdx(string path)
    {
        byte[] bytes;
        SpecialFiles.RequireRegular(path, path);
        try
        {
            using var file = File.OpenRead(path);
            var gz = file.ReadByte() == 0x1f && file.ReadByte() == 0x8b;
            file.Position = 0;
            using Stream stream = gz ? new GZipStream(file, CompressionMode.Decompress) : file;
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            bytes = memory.ToArray();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            throw ZipItException.Input($"{path}: cannot read ({e.Message})", e);
        }
        if (bytes.Length < 4 || bytes[0] != 0 || bytes[1] != 0)
            throw ZipItException.Input($"{path}: not an IDX file (bad magic number)");
        if (bytes[2] != 0x08) throw ZipItException.Input($"{path}: IDX element type 0x{bytes[2]:x2} is not unsigned byte (0x08)");
        var rank = bytes[3];
        if (rank is 0 or > 4 || bytes.Length < 4 + 4 * rank) throw ZipItException.Input($"{path}: IDX header is truncated or has rank {rank}");
        var dims = new int[rank];
        long count = 1;
        for (var i = 0; i < rank; i++)
        {
            var d = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(4 + 4 * i));
            if (d > int.MaxValue) throw ZipItException.Input($"{path}: dimension {i} is {d}, too large");
            dims[i] = (int)d;
            count *= d;
        }
        var offset = 4 + 4 * rank;
        if (bytes.Length - offset != count)
            throw ZipItException.Input($"{path}: header promises {count} bytes of data ({string.Join("×", dims)}), the file holds {bytes.Length - offset}");
        return (dims, bytes[offset..]);
    }
}
