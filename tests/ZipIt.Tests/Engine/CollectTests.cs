using ZipIt.Tests.Infrastructure;
using TorchSharp;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Collect;
using ZipIt.Engine.Data;
using ZipIt.Tests.Cli;
using static TorchSharp.torch;
using ZipIt.Engine.Core;

namespace ZipIt.Tests.Engine;

[Trait("Category", Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class CollectTests
{
    [Fact]
    public void Two_copies_of_one_model_give_identical_within_and_cross_model_blocks()
    {
        using var dir = new TempDirectory();
        var model = Repository.Fixture("parity", "resnet20x2_cifar.safetensors");
        var data = WriteImages(dir, 12);
        var metrics = dir.File("metrics.safetensors");
        var result = Tool.Run("collect", model, model, "--data", data, "-o", metrics, "--batch-size", "5");
        Assert.True(result.ExitCode == 0, result.ToString());

        using var file = Checkpoint.Open(metrics);
        Assert.Equal(24, file.Entries.Count);
        Assert.Equal("2", file.Metadata["models"]);
        Assert.Equal("metrics", file.Metadata["zipit.kind"]);
        foreach (var (point, c) in new[] { ("layer1.0.inner", 32), ("layer1", 32), ("layer2", 64), ("layer3", 128) })
        {
            using var cov = file.Read(point + ".covariance");
            Assert.Equal([2L * c, 2L * c], cov.shape);
            var within = cov.narrow(0, 0, c).narrow(1, 0, c);
            var cross = cov.narrow(0, 0, c).narrow(1, c, c);
            Assert.True(cross.allclose(within, rtol: 1e-6, atol: 1e-8), point);
            Assert.True(cov.allclose(cov.t(), rtol: 0, atol: 1e-9), point);
            Assert.True(cov.diagonal().ge(-1e-9).all().item<bool>(), point);
        }
    }

    [Fact]
    public void Models_of_different_architectures_exit_3_and_write_nothing()
    {
        using var dir = new TempDirectory();
        var data = WriteImages(dir, 4);
        var result = Tool.Run("collect", Repository.Fixture("parity", "resnet20x2_cifar.safetensors"),
            Repository.Fixture("parity", "torchvision_bottleneck_1111.safetensors"), "--data", data, "-o", dir.File("m.safetensors"));
        Assert.Equal(3, result.ExitCode);
        ExitCodeTests.AssertOneErrorLine(result, "same architecture");
        Assert.Equal(["data.safetensors"], dir.Names());
    }

    [Fact]
    public void Models_of_different_widths_exit_3()
    {
        using var dir = new TempDirectory();
        var data = WriteImages(dir, 4);
        Assert.Equal(0, Tool.Run("init", "resnet20", "--arch-set", "width=1", "-o", dir.File("w1.safetensors")).ExitCode);
        Assert.Equal(0, Tool.Run("init", "resnet20", "--arch-set", "width=2", "-o", dir.File("w2.safetensors")).ExitCode);
        var result = Tool.Run("collect", dir.File("w1.safetensors"), dir.File("w2.safetensors"), "--data", data, "-o", dir.File("m.safetensors"));
        Assert.Equal(3, result.ExitCode);
        ExitCodeTests.AssertOneErrorLine(result, "width=2");
        Assert.False(File.Exists(dir.File("m.safetensors")));
    }

    [Fact]
    public void An_empty_calibration_set_exits_3_and_writes_nothing()
    {
        using var dir = new TempDirectory();
        var data = dir.File("data.safetensors");
        CheckpointWriter.WriteFile(data, [new("images", torch.zeros(0, 3, 32, 32))]);
        var model = Repository.Fixture("parity", "resnet20x2_cifar.safetensors");
        var result = Tool.Run("collect", model, model, "--data", data, "-o", dir.File("m.safetensors"));
        Assert.Equal(3, result.ExitCode);
        ExitCodeTests.AssertOneErrorLine(result, "empty");
        Assert.Equal(["data.safetensors"], dir.Names());
    }

    [Fact]
    public void One_model_is_a_usage_error()
    {
        var result = Tool.Run("collect", Repository.Fixture("parity", "resnet20x2_cifar.safetensors"), "--data", "x", "-o", "y");
        Assert.Equal(2, result.ExitCode);
    }

    internal static string WriteImages(TempDirectory dir, int count, int size = 32, long seed = 5)
    {
        var path = dir.File("data.safetensors");
        using var images = torch.randn([count, 3, size, size], generator: new Generator((ulong)seed));
        using var labels = torch.arange(count, ScalarType.Int64) % 10;
        CheckpointWriter.WriteFile(path, [new(TensorDataset.ImagesTensor, images), new(TensorDataset.LabelsTensor, labels)]);
        return path;
    }
}
