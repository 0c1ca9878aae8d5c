using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Data;

/// <summary>
/// The binary versions of CIFAR-10 and CIFAR-100 (<c>cifar-10-binary.tar.gz</c>,
/// <c>cifar-100-binary.tar.gz</c>), as unpacked: the folder itself or its
/// <c>cifar-10-batches-bin</c> / <c>cifar-100-binary</c> subfolder.
/// <list type="bullet">
/// <item>CIFAR-10: <c>data_batch_1.bin</c> … <c>data_batch_5.bin</c> (training, read in that
/// order) and <c>test_batch.bin</c>; records of 1 label byte (0–9) and 3072 pixel bytes (the red,
/// green and blue 32×32 planes, rows top to bottom); class names from <c>batches.meta.txt</c>
/// (one a line) when present.</item>
/// <item>CIFAR-100: <c>train.bin</c> and <c>test.bin</c>; records of a coarse label byte (0–19), a
/// fine label byte (0–99) and 3072 pixel bytes. The fine labels are the classes; names from
/// <c>fine_label_names.txt</c> when present.</item>
/// </list>
/// </summary>
internal sealed class CifarBinaryFormat : DatasetFormat
{
    private const int Side = 32;
    private const int Pixels = 3 * Side * Side;

    public override string Name => "cifar-binary";

    public override bool Recognises(string folder) => Locate(folder) is not null;

    public override DatasetSplits Read(string folder, IReadOnlyList<string>? classNames)
    {
        var (root, hundred) = Locate(folder) ?? throw ZipItException.Input($"{folder}: no data_batch_1.bin (CIFAR-10) or train.bin and test.bin (CIFAR-100)");
        return hundred ? ReadCifar100(root, classNames) : ReadCifar10(root, classNames);
    }

    /// <summary>The folder holding the batches and whether it is CIFAR-100, or null.</summary>
    private static (string Root, bool Hundred)? Locate(string folder)
    {
        foreach (var candidate in new[] { folder, Path.Combine(folder, "cifar-10-batches-bin"), Path.Combine(folder, "cifar-100-binary") })
        {
            if (File.Exists(Path.Combine(candidate, "data_batch_1.bin"))) return (candidate, false);
            if (File.Exists(Path.Combine(candidate, "train.bin")) && File.Exists(Path.Combine(candidate, "test.bin"))) return (candidate, true);
        }
        return null;
    }

    private static DatasetSplits ReadCifar10(string root, IReadOnlyList<string>? classNames)
    {
        const int classes = 10;
        var names = classNames ?? Names(Path.Combine(root, "batches.meta.txt"), classes);
        var batches = new List<string>();
        for (var i = 1; File.Exists(Path.Combine(root, $"data_batch_{i}.bin")); i++) batches.Add(Path.Combine(root, $"data_batch_{i}.bin"));
        var stray = Directory.EnumerateFiles(root, "data_batch_*.bin").Where(p => !batches.Contains(p)).Order(StringComparer.Ordinal).FirstOrDefault();
        if (stray is not null)
            throw ZipItException.Input($"{stray}: data_batch_{batches.Count + 1}.bin is missing before it (training batches are numbered 1, 2, …)");
        var test = Path.Combine(root, "test_batch.bin");
        if (!File.Exists(test)) throw ZipItException.Input($"{root}: no test_batch.bin (CIFAR-10 needs data_batch_1.bin … and test_batch.bin)");
        var train = ReadRecords($"{Path.GetFileName(root)}/train", batches, labelBytes: 1, classes, names);
        try { return new DatasetSplits(train, ReadRecords($"{Path.GetFileName(root)}/test", [test], labelBytes: 1, classes, names)); }
        catch { train.Dispose(); throw; }
    }

    private static DatasetSplits ReadCifar100(string root, IReadOnlyList<string>? classNames)
    {
        const int classes = 100;
        var names = classNames ?? Names(Path.Combine(root, "fine_label_names.txt"), classes);
        var train = ReadRecords($"{Path.GetFileName(root)}/train", [Path.Combine(root, "train.bin")], labelBytes: 2, classes, names);
        try { return new DatasetSplits(train, ReadRecords($"{Path.GetFileName(root)}/test", [Path.Combine(root, "test.bin")], labelBytes: 2, classes, names)); }
        catch { train.Dispose(); throw; }
    }

    /// <summary>Class names, one a non-blank line, from <paramref name="path"/>; "0", "1", … when it does not exist.</summary>
    private static IReadOnlyList<string> Names(string path, int classes)
    {
        if (!File.Exists(path)) return Enumerable.Range(0, classes).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToList();
        string[] lines;
        try { lines = File.ReadAllLines(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw ZipItException.Input($"{path}: cannot read ({e.Message})", e); }
        var names = lines.Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        if (names.Count != classes) throw ZipItException.Input($"{path}: {names.Count} class names, expected {classes} (one a line)");
        return names;
    }

    /// <summary>
    /// Images and labels from the record files <paramref name="paths"/>, in order. With two label
    /// bytes (CIFAR-100) the first is the coarse label (checked against 20 superclasses) and the
    /// second the fine label that is kept.
    /// </summary>
    private static ImageSet ReadRecords(string name, IReadOnlyList<string> paths, int labelBytes, int classes, IReadOnlyList<string> names)
    {
        var record = labelBytes + Pixels;
        var sizes = new List<long>();
        foreach (var path in paths)
        {
            long length;
            try { length = new FileInfo(path).Length; }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw ZipItException.Input($"{path}: cannot read ({e.Message})", e); }
            if (length == 0) throw ZipItException.Input($"{path}: the file is empty (expected {record}-byte records)");
            if (length % record != 0)
                throw ZipItException.Input($"{path}: {length} bytes is not a whole number of {record}-byte records (truncated? {length / record} records and {length % record} bytes over)");
            sizes.Add(length / record);
        }
        var total = sizes.Sum();
        if (total * Pixels > Array.MaxLength) throw ZipItException.Input($"{paths[0]}: {total} images are too many to hold in one array");
        var pixels = new byte[total * Pixels];
        var labels = new long[total];
        long at = 0;
        for (var f = 0; f < paths.Count; f++)
        {
            var path = paths[f];
            byte[] bytes;
            SpecialFiles.RequireRegular(path, path);
            try { bytes = File.ReadAllBytes(path); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw ZipItException.Input($"{path}: cannot read ({e.Message})", e); }
            if (bytes.LongLength != sizes[f] * record) throw ZipItException.Input($"{path}: the file changed while it was read");
            for (long r = 0; r < sizes[f]; r++, at++)
            {
                var offset = (int)(r * record);
                if (labelBytes == 2 && bytes[offset] >= 20)
                    throw ZipItException.Input($"{path}: record {r} has coarse label {bytes[offset]}, expected 0-19");
                var label = bytes[offset + labelBytes - 1];
                if (label >= classes) throw ZipItException.Input($"{path}: record {r} has label {label}, expected 0-{classes - 1}");
                if (label >= names.Count) throw ZipItException.Input($"{path}: record {r} has label {label}, which has no class name ({names.Count} given)");
                labels[at] = label;
                Buffer.BlockCopy(bytes, offset + labelBytes, pixels, (int)(at * Pixels), Pixels);
            }
        }
        return new ImageSet(name, torch.tensor(pixels, [total, 3, Side, Side], ScalarType.Byte), torch.tensor(labels), names);
    }
}
