using SkiaSharp;
using ZipIt.Engine.Data;
using static ZipIt.Tests.Data.DataFiles;

namespace ZipIt.Tests.Data;

public sealed class ImageFolderFormatTests
{
    /// <summary>Colour image <paramref name="n"/>: pixel (x, y) = (Pixel(n, y, x), n * 20, 255 - x).</summary>
    private static SKColor Colour(int n, int x, int y) => new(Pixel(n, y, x), (byte)(n * 20), (byte)(255 - x));

    private static SKColor Grey(int n, int x, int y) { var v = Pixel(n, y, x); return new SKColor(v, v, v); }

    [Fact]
    public void Train_and_test_folders_of_colour_pngs_read_exactly_with_classes_sorted_by_name()
    {
        using var dir = new TempDirectory("zipit-images");
        // Created out of order: classes are sorted by name, files by name.
        WriteImage(dir.File("train/zebra/b.png"), 6, 5, (x, y) => Colour(1, x, y));
        WriteImage(dir.File("train/zebra/a.png"), 6, 5, (x, y) => Colour(0, x, y));
        WriteImage(dir.File("train/Apple/x.png"), 6, 5, (x, y) => Colour(2, x, y));
        WriteImage(dir.File("train/apple/sub/y.PNG"), 6, 5, (x, y) => Colour(3, x, y));
        WriteImage(dir.File("test/zebra/t.png"), 6, 5, (x, y) => Colour(4, x, y));
        File.WriteAllText(dir.File("train/zebra/notes.txt"), "not an image");
        Assert.IsType<ImageFolderFormat>(DatasetFormat.All.First(f => f.Recognises(dir.Path)));

        using var splits = new ImageFolderFormat().Read(dir.Path, null);
        Assert.Equal(["Apple", "apple", "zebra"], splits.Train.ClassNames);
        Assert.Equal([4L, 3, 5, 6], splits.Train.Images.shape);
        Assert.Equal([1L, 3, 5, 6], splits.Test.Images.shape);
        Assert.Equal([0L, 1, 2, 2], Longs(splits.Train.Labels));
        Assert.Equal([2L], Longs(splits.Test.Labels));
        foreach (var (set, index, n) in new[] { (splits.Train, 0, 2), (splits.Train, 1, 3), (splits.Train, 2, 0), (splits.Train, 3, 1), (splits.Test, 0, 4) })
            for (var y = 0; y < 5; y++)
                for (var x = 0; x < 6; x++)
                {
                    var c = Colour(n, x, y);
                    Assert.Equal([c.Red, c.Green, c.Blue], Bytes(set.Images[index, .., y, x]));
                }
    }

    [Fact]
    public void A_flat_folder_of_grey_images_holds_out_every_fifth_image_of_each_class()
    {
        using var dir = new TempDirectory("zipit-images");
        for (var i = 0; i < 7; i++) WriteImage(dir.File($"b/{i:00}.png"), 4, 3, (x, y) => Grey(10 + i, x, y));
        for (var i = 0; i < 5; i++) WriteImage(dir.File($"a/{i:00}.png"), 4, 3, (x, y) => Grey(i, x, y));
        Assert.IsType<ImageFolderFormat>(DatasetFormat.All.First(f => f.Recognises(dir.Path)));

        using var splits = new ImageFolderFormat().Read(dir.Path, null);
        Assert.Equal(["a", "b"], splits.Train.ClassNames);
        Assert.Equal([10L, 1, 3, 4], splits.Train.Images.shape);
        Assert.Equal([2L, 1, 3, 4], splits.Test.Images.shape);
        Assert.Equal([0L, 0, 0, 0, 1, 1, 1, 1, 1, 1], Longs(splits.Train.Labels));
        Assert.Equal([0L, 1], Longs(splits.Test.Labels));
        // The fifth file of each class (04.png) is the test image.
        Assert.Equal(Grey(4, 3, 2).Red, splits.Test.Images[0, 0, 2, 3].item<byte>());
        Assert.Equal(Grey(14, 1, 0).Red, splits.Test.Images[1, 0, 0, 1].item<byte>());
        Assert.Equal(Grey(15, 1, 0).Red, splits.Train.Images[8, 0, 0, 1].item<byte>());

        // Reading twice gives the same split.
        using var again = new ImageFolderFormat().Read(dir.Path, ["A", "B"]);
        Assert.True(Same(again.Test.Images, splits.Test.Images));
        Assert.Equal(["A", "B"], again.Test.ClassNames);
    }

    [Fact]
    public void Jpeg_images_decode_close_to_their_colours_and_other_sizes_are_resized_to_the_first()
    {
        using var dir = new TempDirectory("zipit-images");
        WriteImage(dir.File("train/red/0.jpg"), 8, 8, (_, _) => new SKColor(200, 30, 40), SKEncodedImageFormat.Jpeg);
        WriteImage(dir.File("train/teal/0.jpeg"), 16, 12, (_, _) => new SKColor(20, 160, 150), SKEncodedImageFormat.Jpeg);
        WriteImage(dir.File("test/red/0.jpg"), 8, 8, (_, _) => new SKColor(210, 20, 50), SKEncodedImageFormat.Jpeg);

        using var splits = new ImageFolderFormat().Read(dir.Path, null);
        Assert.Equal([2L, 3, 8, 8], splits.Train.Images.shape);
        Assert.Equal([1L, 3, 8, 8], splits.Test.Images.shape);
        Assert.Equal(["red", "teal"], splits.Train.ClassNames);
        void Near(byte[] expected, ZipIt.Engine.Data.ImageSet set, int n)
        {
            var mean = set.Images[n].to(TorchSharp.torch.ScalarType.Float32).mean([1, 2]).data<float>().ToArray();
            for (var c = 0; c < 3; c++) Assert.InRange(mean[c], expected[c] - 4, expected[c] + 4);
        }
        Near([200, 30, 40], splits.Train, 0);
        Near([20, 160, 150], splits.Train, 1);
        Near([210, 20, 50], splits.Test, 0);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("truncated")]
    public void An_unreadable_image_is_an_input_error_naming_it(string kind)
    {
        using var dir = new TempDirectory("zipit-images");
        WriteImage(dir.File("train/a/0.png"), 8, 8, (x, y) => Colour(0, x, y));
        WriteImage(dir.File("train/b/bad.png"), 8, 8, (x, y) => Colour(1, x, y));
        WriteImage(dir.File("test/a/0.png"), 8, 8, (x, y) => Colour(2, x, y));
        var bad = dir.File("train/b/bad.png");
        File.WriteAllBytes(bad, kind == "garbage" ? "this is not an image"u8.ToArray() : File.ReadAllBytes(bad)[..60]);
        AssertInputError(() => new ImageFolderFormat().Read(dir.Path, null), "bad.png");
    }

    [Fact]
    public void A_test_class_missing_from_train_and_an_empty_class_are_input_errors()
    {
        using var dir = new TempDirectory("zipit-images");
        WriteImage(dir.File("train/a/0.png"), 4, 4, (x, y) => Colour(0, x, y));
        WriteImage(dir.File("test/stray/0.png"), 4, 4, (x, y) => Colour(1, x, y));
        AssertInputError(() => new ImageFolderFormat().Read(dir.Path, null), "stray");

        Directory.Delete(dir.File("test/stray"), recursive: true);
        Directory.CreateDirectory(dir.File("train/empty"));
        AssertInputError(() => new ImageFolderFormat().Read(dir.Path, null), "empty");
    }

    [Fact]
    public void A_folder_without_class_folders_of_images_is_not_recognised()
    {
        using var dir = new TempDirectory("zipit-images");
        File.WriteAllText(dir.File("readme.txt"), "hello");
        Directory.CreateDirectory(dir.File("sub"));
        File.WriteAllText(dir.File("sub/data.csv"), "1,2");
        Assert.DoesNotContain(DatasetFormat.All, f => f.Recognises(dir.Path));
    }
}
