using ZipIt.Engine.Data;
using static ZipIt.Tests.Data.DataFiles;
using ZipIt.Engine.Core;

namespace ZipIt.Tests.Data;

public sealed class TaskSpecTests
{
    [Theory]
    [InlineData("fashion-mnist:0-4", "fashion-mnist", new long[] { 0, 1, 2, 3, 4 }, "fashion-mnist:0-4")]
    [InlineData("fashion-mnist:5,7,9", "fashion-mnist", new long[] { 5, 7, 9 }, "fashion-mnist:5,7,9")]
    [InlineData("cifar100:0,2,5-7", "cifar100", new long[] { 0, 2, 5, 6, 7 }, "cifar100:0,2,5-7")]
    [InlineData("mnist:3,1,3", "mnist", new long[] { 3, 1 }, "mnist:3,1")]
    [InlineData("/data/my:set:0-1", "/data/my:set", new long[] { 0, 1 }, "/data/my:set:0-1")]
    public void Class_lists_parse(string text, string dataset, long[] classes, string formatted)
    {
        var spec = TaskSpec.Parse(text);
        Assert.Equal(dataset, spec.Dataset);
        Assert.Equal(classes, spec.Classes);
        Assert.Equal(formatted, spec.ToString());
    }

    [Theory]
    [InlineData("mnist")]
    [InlineData("mnist:all")]
    [InlineData("mnist:ALL")]
    public void No_class_list_or_all_means_every_class(string text)
    {
        var spec = TaskSpec.Parse(text);
        Assert.Equal("mnist", spec.Dataset);
        Assert.Null(spec.Classes);
        Assert.Equal("mnist:all", spec.ToString());
        Assert.Equal([0L, 1, 2], spec.Resolve(3));
    }

    [Theory]
    [InlineData("mnist:")]
    [InlineData("mnist:4-2")]
    [InlineData("mnist:a")]
    [InlineData("mnist:-1")]
    [InlineData("mnist:1,,2")]
    [InlineData("mnist:0-")]
    public void Bad_class_lists_are_usage_errors(string text)
    {
        var e = Assert.Throws<ZipItException>(() => TaskSpec.Parse(text));
        Assert.Equal(ExitCode.Usage, e.Code);
        Assert.Contains(text, e.Message);
    }

    [Fact]
    public void Classes_beyond_the_dataset_are_a_usage_error()
    {
        var e = Assert.Throws<ZipItException>(() => TaskSpec.Parse("cifar10:8-10").Resolve(10));
        Assert.Equal(ExitCode.Usage, e.Code);
        Assert.Contains("class 10", e.Message);
        Assert.Equal([8L, 9], TaskSpec.Parse("cifar10:8-9").Resolve(10));
    }
}

// Serial: sets ZIPIT_DATA and ZIPIT_CACHE, which DatasetCatalog reads from the process environment.
[Collection(SerialCollection.Name)]
public sealed class DataTaskTests
{
    private const int TrainCount = 200;

    /// <summary>Image id from its first two pixels (see <see cref="DataFiles.Pixel"/>): the training images are 0..199.</summary>
    private static HashSet<(byte, byte)> Ids(ImageSet set)
    {
        var ids = new HashSet<(byte, byte)>();
        var bytes = Bytes(set.Images.flatten(1).narrow(1, 0, 2));
        for (var i = 0; i < set.Count; i++) ids.Add((bytes[2 * i], bytes[2 * i + 1]));
        Assert.Equal(set.Count, ids.Count);
        return ids;
    }

    [Fact]
    public void Train_validation_and_test_are_disjoint_deterministic_and_the_validation_is_a_tenth()
    {
        using var dir = new TempDirectory("zipit-task");
        // 200 training images whose (pixel 0, pixel 1) identify them; 4 classes; 40 test images.
        WriteIdxDataset(dir.Path, train: TrainCount, test: 40, h: 1, w: 2, classes: 4);
        using var task = DataTask.Open(TaskSpec.Parse($"{dir.Path}:1-2"));
        Assert.Equal([1L, 2], task.Classes);
        Assert.Equal(["1", "2"], task.ClassNames);
        Assert.True(task.Flip);

        Assert.Equal(TrainCount / 2, task.Train.Count + task.Validation.Count);
        Assert.InRange(task.Validation.Count, 5, 15);
        Assert.Equal(20, task.Test.Count);
        foreach (var set in new[] { task.Train, task.Validation, task.Test })
            Assert.All(Longs(set.Labels), l => Assert.Contains(l, new long[] { 1, 2 }));
        var (train, validation, test) = (Ids(task.Train), Ids(task.Validation), Ids(task.Test));
        Assert.Empty(train.Intersect(validation));
        Assert.Empty(train.Intersect(test));
        Assert.Empty(validation.Intersect(test));

        // The whole dataset: a tenth held out.
        using var all = DataTask.Open(TaskSpec.Parse($"{dir.Path}:all"));
        Assert.Equal(TrainCount / 10, all.Validation.Count);
        Assert.Equal(TrainCount - TrainCount / 10, all.Train.Count);

        // The same task again: the same split.
        using var again = DataTask.Open(TaskSpec.Parse($"{dir.Path}:1-2"));
        Assert.True(Same(again.Validation.Images, task.Validation.Images));
        Assert.True(Same(again.Train.Images, task.Train.Images));
        Assert.Equal(task.Mean, again.Mean);
    }

    [Fact]
    public void Tasks_of_one_dataset_share_its_validation_images_and_statistics()
    {
        using var dir = new TempDirectory("zipit-task");
        WriteIdxDataset(dir.Path, train: TrainCount, test: 20, h: 1, w: 2, classes: 4);
        using var all = DataTask.Open(TaskSpec.Parse($"{dir.Path}:all"));
        using var first = DataTask.Open(TaskSpec.Parse($"{dir.Path}:0-1"));
        using var second = DataTask.Open(TaskSpec.Parse($"{dir.Path}:2,3"));
        var allValidation = Ids(all.Validation);
        Assert.Equal(allValidation, Ids(first.Validation).Union(Ids(second.Validation)).ToHashSet());
        Assert.Empty(Ids(first.Validation).Intersect(Ids(second.Validation)));
        Assert.Equal(all.Mean, first.Mean);
        Assert.Equal(all.Std, second.Std);
        // Statistics are those of the whole training part (the IDX pixels as generated).
        var pixels = Enumerable.Range(0, TrainCount).SelectMany(n => new[] { Pixel(n, 0, 0), Pixel(n, 0, 1) }).Select(b => b / 255.0).ToArray();
        var mean = pixels.Average();
        Assert.Equal(mean, first.Mean[0], 9);
        Assert.Equal(Math.Sqrt(pixels.Average(p => (p - mean) * (p - mean))), first.Std[0], 9);
    }

    [Fact]
    public void A_named_dataset_is_found_under_ZIPIT_DATA_and_a_missing_one_says_how_to_install_it()
    {
        using var dir = new TempDirectory("zipit-task");
        WriteIdxDataset(Path.Combine(dir.Path, "mnist"), train: 50, test: 10, h: 2, w: 2, classes: 10);
        var (data, cache) = (Environment.GetEnvironmentVariable("ZIPIT_DATA"), Environment.GetEnvironmentVariable("ZIPIT_CACHE"));
        try
        {
            Environment.SetEnvironmentVariable("ZIPIT_DATA", dir.Path);
            using var task = DataTask.Open(TaskSpec.Parse("mnist:3-4"));
            Assert.Equal(["digit 3", "digit 4"], task.ClassNames);
            Assert.False(task.Flip);
            Assert.Equal(10, task.Train.Count + task.Validation.Count);

            Environment.SetEnvironmentVariable("ZIPIT_DATA", dir.File("nothing-here"));
            Environment.SetEnvironmentVariable("ZIPIT_CACHE", dir.File("empty-cache"));
            var e = Assert.Throws<ZipItException>(() => DataTask.Open(TaskSpec.Parse("cifar10:0-4")));
            Assert.Equal(ExitCode.Input, e.Code);
            Assert.Contains(dir.File("empty-cache"), e.Message);
            Assert.Contains("cifar10", e.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable("ZIPIT_DATA", data);
            Environment.SetEnvironmentVariable("ZIPIT_CACHE", cache);
        }
    }
}
