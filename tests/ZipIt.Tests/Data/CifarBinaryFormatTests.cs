using ZipIt.Engine.Data;
using static ZipIt.Tests.Data.DataFiles;

namespace ZipIt.Tests.Data;

public sealed class CifarBinaryFormatTests
{
    private static readonly string[] Ten = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    private static string WriteCifar10(TempDirectory dir, string? sub = null)
    {
        var root = sub is null ? dir.Path : Path.Combine(dir.Path, sub);
        Directory.CreateDirectory(root);
        File.WriteAllBytes(Path.Combine(root, "data_batch_1.bin"), CifarRecords([[3], [9], [0]]));
        File.WriteAllBytes(Path.Combine(root, "data_batch_2.bin"), CifarRecords([[1], [4]], first: 3));
        File.WriteAllBytes(Path.Combine(root, "test_batch.bin"), CifarRecords([[7], [2]], first: 5));
        WriteText(Path.Combine(root, "batches.meta.txt"), [.. Ten, ""]);
        return root;
    }

    [Fact]
    public void Cifar10_batches_read_in_order_with_names_from_the_meta_file()
    {
        using var dir = new TempDirectory("zipit-cifar");
        WriteCifar10(dir);
        Assert.IsType<CifarBinaryFormat>(DatasetFormat.All.First(f => f.Recognises(dir.Path)));

        using var splits = new CifarBinaryFormat().Read(dir.Path, null);
        Assert.Equal([5L, 3, 32, 32], splits.Train.Images.shape);
        Assert.Equal([2L, 3, 32, 32], splits.Test.Images.shape);
        Assert.Equal([3L, 9, 0, 1, 4], Longs(splits.Train.Labels));
        Assert.Equal([7L, 2], Longs(splits.Test.Labels));
        Assert.Equal(Ten, splits.Train.ClassNames);
        // Record n's plane c is Pixel(n + c, y, x): the R, G, B planes land in channels 0, 1, 2.
        Assert.Equal(Pixel(4 + 0, 0, 31), splits.Train.Images[4, 0, 0, 31].item<byte>());
        Assert.Equal(Pixel(1 + 1, 17, 5), splits.Train.Images[1, 1, 17, 5].item<byte>());
        Assert.Equal(Pixel(6 + 2, 31, 30), splits.Test.Images[1, 2, 31, 30].item<byte>());
    }

    [Fact]
    public void Cifar10_in_its_unpacked_subfolder_without_names_is_numbered()
    {
        using var dir = new TempDirectory("zipit-cifar");
        var root = WriteCifar10(dir, "cifar-10-batches-bin");
        File.Delete(Path.Combine(root, "batches.meta.txt"));
        Assert.IsType<CifarBinaryFormat>(DatasetFormat.All.First(f => f.Recognises(dir.Path)));
        using var splits = new CifarBinaryFormat().Read(dir.Path, null);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => i.ToString()), splits.Train.ClassNames);
        Assert.Equal(5, splits.Train.Count);
    }

    [Fact]
    public void A_truncated_cifar_batch_is_an_input_error_naming_it()
    {
        using var dir = new TempDirectory("zipit-cifar");
        WriteCifar10(dir);
        var batch = Path.Combine(dir.Path, "data_batch_2.bin");
        File.WriteAllBytes(batch, File.ReadAllBytes(batch)[..^100]);
        var e = AssertInputError(() => new CifarBinaryFormat().Read(dir.Path, null), "data_batch_2.bin");
        Assert.Contains("3073", e.Message);
    }

    [Fact]
    public void Cifar10_labels_out_of_range_and_bad_meta_files_are_input_errors()
    {
        using var dir = new TempDirectory("zipit-cifar");
        WriteCifar10(dir);
        File.WriteAllBytes(Path.Combine(dir.Path, "test_batch.bin"), CifarRecords([[7], [10]]));
        AssertInputError(() => new CifarBinaryFormat().Read(dir.Path, null), "test_batch.bin");

        WriteCifar10(dir);
        WriteText(Path.Combine(dir.Path, "batches.meta.txt"), Ten[..9]);
        AssertInputError(() => new CifarBinaryFormat().Read(dir.Path, null), "batches.meta.txt");

        WriteCifar10(dir);
        File.Move(Path.Combine(dir.Path, "data_batch_2.bin"), Path.Combine(dir.Path, "data_batch_3.bin"));
        AssertInputError(() => new CifarBinaryFormat().Read(dir.Path, null), "data_batch_3.bin");
    }

    private static void WriteCifar100(TempDirectory dir)
    {
        File.WriteAllBytes(dir.File("train.bin"), CifarRecords([[0, 0], [19, 99], [4, 42], [7, 1]]));
        File.WriteAllBytes(dir.File("test.bin"), CifarRecords([[12, 55]], first: 4));
        WriteText(dir.File("fine_label_names.txt"), [.. Enumerable.Range(0, 100).Select(i => $"fine{i}")]);
        WriteText(dir.File("coarse_label_names.txt"), [.. Enumerable.Range(0, 20).Select(i => $"coarse{i}")]);
    }

    [Fact]
    public void Cifar100_uses_the_fine_labels_and_names()
    {
        using var dir = new TempDirectory("zipit-cifar100");
        WriteCifar100(dir);
        Assert.IsType<CifarBinaryFormat>(DatasetFormat.All.First(f => f.Recognises(dir.Path)));

        using var splits = new CifarBinaryFormat().Read(dir.Path, null);
        Assert.Equal([4L, 3, 32, 32], splits.Train.Images.shape);
        Assert.Equal([1L, 3, 32, 32], splits.Test.Images.shape);
        Assert.Equal([0L, 99, 42, 1], Longs(splits.Train.Labels));
        Assert.Equal([55L], Longs(splits.Test.Labels));
        Assert.Equal(100, splits.Train.ClassNames.Count);
        Assert.Equal("fine42", splits.Train.ClassNames[42]);
        Assert.Equal(Pixel(2 + 1, 8, 16), splits.Train.Images[2, 1, 8, 16].item<byte>());
        Assert.Equal(Pixel(4 + 2, 0, 0), splits.Test.Images[0, 2, 0, 0].item<byte>());
    }

    [Fact]
    public void Cifar100_bad_labels_and_lengths_are_input_errors_naming_the_file()
    {
        using var dir = new TempDirectory("zipit-cifar100");
        WriteCifar100(dir);
        File.WriteAllBytes(dir.File("test.bin"), CifarRecords([[3, 100]]));
        AssertInputError(() => new CifarBinaryFormat().Read(dir.Path, null), "test.bin");

        WriteCifar100(dir);
        File.WriteAllBytes(dir.File("train.bin"), CifarRecords([[20, 5]]));
        AssertInputError(() => new CifarBinaryFormat().Read(dir.Path, null), "train.bin");

        WriteCifar100(dir);
        // A CIFAR-10 record (3073 bytes) in a CIFAR-100 file (3074-byte records).
        File.WriteAllBytes(dir.File("train.bin"), CifarRecords([[5]]));
        var e = AssertInputError(() => new CifarBinaryFormat().Read(dir.Path, null), "train.bin");
        Assert.Contains("3074", e.Message);
    }
}
