using SkiaSharp;
using ZipIt.Engine.Core;
using ZipIt.Engine.Data;
using static ZipIt.Tests.Data.DataFiles;

namespace ZipIt.Tests.Data;

public sealed class DataSourceTests
{
    private static readonly Preprocessing Small = new(8, 3, [0.5], [0.25]);

    private static SKColor Shade(int v) => new((byte)v, (byte)(255 - v), (byte)(v / 2));

    /// <summary>Class folders a (4 images of 10×20) and b (2 images of 6×6), plus a text file to ignore.</summary>
    private static void WriteClasses(TempDirectory dir)
    {
        for (var i = 0; i < 4; i++) WriteImage(dir.File($"imgs/a/{i}.png"), 20, 10, (x, y) => Shade(10 * i + x));
        for (var i = 0; i < 2; i++) WriteImage(dir.File($"imgs/b/{i}.png"), 6, 6, (x, y) => Shade(200 + i));
        File.WriteAllText(dir.File("imgs/a/readme.txt"), "not an image");
    }

    [Fact]
    public void Specs_are_read_as_files_folders_or_datasets_with_a_split_and_classes()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("x.safetensors"), [1]);
        WriteClasses(dir);
        Assert.Equal(DataSourceKind.TensorFile, DataSource.Parse(dir.File("x.safetensors"), "--data").Kind);
        Assert.Equal(DataSourceKind.ImageFolder, DataSource.Parse(dir.File("imgs"), "--data").Kind);
        var spec = DataSource.Parse("fashion-mnist:train:0-4", "--data");
        Assert.Equal((DataSourceKind.Dataset, "fashion-mnist", DataSplit.Train), (spec.Kind, spec.Location, spec.Split!.Value));
        Assert.Equal([0L, 1, 2, 3, 4], spec.Classes);
        var test = DataSource.Parse("mnist:test", "--data");
        Assert.Equal((DataSplit.Test, (IReadOnlyList<long>?)null), (test.Split!.Value, test.Classes));
        var classesOnly = DataSource.Parse("cifar10:3,5", "--data");
        Assert.Null(classesOnly.Split);
        Assert.Equal([3L, 5], classesOnly.Classes);
        Assert.Equal(DataSourceKind.ImageFolder, DataSource.Parse(dir.File("imgs") + ":test:1", "--data").Kind);
    }

    [Theory]
    [InlineData("nosuchset:train", 2, "not a file, a folder or a dataset spec NAME[:SPLIT][:CLASSES] (datasets: fashion-mnist, mnist, cifar10, cifar100)")]
    [InlineData("fashion-mnist:everything", 2, "'everything' is neither a split (train, validation, test) nor classes such as 0-4")]
    [InlineData("fashion-mnist:train:test", 2, "'test' is neither a split")]
    [InlineData("missing/calibration.safetensors", 3, "no such file or folder")]
    public void A_spec_that_is_nothing_is_one_line_naming_the_option(string text, int code, string message)
    {
        var e = Assert.Throws<ZipItException>(() => DataSource.Parse(text, "--eval-data"));
        Assert.Equal(code, (int)e.Code);
        Assert.StartsWith($"--eval-data {text}: ", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void A_folder_without_images_and_a_flat_folder_with_classes_are_refused()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.File("empty/sub"));
        File.WriteAllText(dir.File("empty/sub/notes.txt"), "x");
        var e = Assert.Throws<ZipItException>(() => DataSource.Parse(dir.File("empty"), "--data"));
        Assert.Equal(ExitCode.Input, e.Code);
        Assert.Contains("a folder with no .png/.jpg/.jpeg images", e.Message);
        WriteImage(dir.File("flat/1.png"), 4, 4, (x, y) => Shade(x));
        var flat = Assert.Throws<ZipItException>(() => DataSource.Parse(dir.File("flat") + ":train", "--data"));
        Assert.Equal(ExitCode.Usage, flat.Code);
        Assert.Contains("a flat folder of images, without classes or splits to choose", flat.Message);
    }

    [Fact]
    public void A_class_folder_becomes_preprocessed_labelled_inputs_drawn_class_balanced_and_the_same_every_time()
    {
        using var dir = new TempDirectory();
        WriteClasses(dir);
        var source = DataSource.Parse(dir.File("imgs"), "--data");
        using var all = source.Load(new DataRequest("--data") { Preprocessing = Small });
        Assert.Equal([6L, 3, 8, 8], all.Images.shape);
        // Taken in turn class by class: a, b, a, b, a, a.
        Assert.Equal([0L, 1, 0, 1, 0, 0], Longs(all.Labels!));
        using var three = source.Load(new DataRequest("--data") { Preprocessing = Small, Images = 3, Seed = 7 });
        using var again = source.Load(new DataRequest("--data") { Preprocessing = Small, Images = 3, Seed = 7 });
        Assert.Equal([0L, 1, 0], Longs(three.Labels!));
        Assert.Equal(Floats(three.Images), Floats(again.Images));
        using var other = source.Load(new DataRequest("--data") { Preprocessing = Small, Images = 3, Seed = 8 });
        Assert.Equal([3L, 3, 8, 8], other.Images.shape);
        // b's 6×6 images are padded by 1 on each side to 8×8: the border is black, normalised.
        var bImage = Floats(all.Images[1]);
        Assert.Equal((0 - 0.5f) / 0.25f, bImage[0], 5);
        Assert.Equal((200 / 255f - 0.5f) / 0.25f, bImage[9], 4);
    }

    [Fact]
    public void Classes_and_splits_of_a_folder_choose_its_images()
    {
        using var dir = new TempDirectory();
        WriteClasses(dir);
        using var onlyB = DataSource.Parse(dir.File("imgs") + ":1", "--data").Load(new DataRequest("--data") { Preprocessing = Small });
        Assert.Equal([1L, 1], Longs(onlyB.Labels!));
        // Every fifth image of a class is its test part: a's fourth file is not, so a's test part is empty.
        using var test = DataSource.Parse(dir.File("imgs") + ":train", "--data").Load(new DataRequest("--data") { Preprocessing = Small });
        Assert.Equal(6, test.Count);
    }

    [Fact]
    public void A_flat_folder_is_unlabelled_calibration_and_refused_where_labels_are_needed()
    {
        using var dir = new TempDirectory();
        for (var i = 0; i < 5; i++) WriteImage(dir.File($"flat/{i}.jpg"), 12, 9, (x, y) => Shade(20 * i), SKEncodedImageFormat.Jpeg);
        var source = DataSource.Parse(dir.File("flat"), "--data");
        using var two = source.Load(new DataRequest("--data") { Preprocessing = Small, Images = 2 });
        Assert.Null(two.Labels);
        Assert.Equal([2L, 3, 8, 8], two.Images.shape);
        var e = Assert.Throws<ZipItException>(() => source.Load(new DataRequest("--eval-data") { Preprocessing = Small, LabelsRequired = true }));
        Assert.Equal(ExitCode.Input, e.Code);
        Assert.Contains("a flat folder of images has no labels; evaluation needs one subfolder per class", e.Message);
    }

    [Fact]
    public void An_unreadable_image_names_its_file_and_a_folder_without_preprocessing_says_how_to_give_one()
    {
        using var dir = new TempDirectory();
        WriteClasses(dir);
        File.WriteAllBytes(dir.File("imgs/b/broken.png"), [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
        var source = DataSource.Parse(dir.File("imgs"), "--data");
        AssertInputError(() => source.Load(new DataRequest("--data") { Preprocessing = Small }), "broken.png");
        var none = Assert.Throws<ZipItException>(() => source.Load(new DataRequest("--data") { WhyNoPreprocessing = "a.pth records no preprocessing" }));
        Assert.Equal(ExitCode.Input, none.Code);
        Assert.Contains("a.pth records no preprocessing; pass --preprocess (a preset: imagenet, cifar10, or size=N mean=M std=S) or a tensor file", none.Message);
    }
}
