using TorchSharp;
using ZipIt.Engine.Checkpoints;
using static TorchSharp.torch;
using ZipIt.Engine.Core;

namespace ZipIt.Tests.Cli;

/// <summary><c>predict</c> reproduces PyTorch's outputs, and refuses bad input without writing anything.</summary>
public sealed class PredictTests
{
    [Theory]
    [InlineData("resnet20x2_cifar")]
    [InlineData("torchvision_bottleneck_1111")]
    public void Predict_matches_pytorch(string fixture)
    {
        using var dir = new TempDirectory();
        var io = Repository.Fixture("parity", fixture + ".io.safetensors");
        var output = dir.File("out.safetensors");
        var result = Tool.Run("predict", Repository.Fixture("parity", fixture + ".safetensors"), "--input", io, "-o", output);
        Assert.True(result.ExitCode == 0, result.ToString());

        using var expected = Checkpoint.Open(io);
        using var actual = Checkpoint.Open(output);
        using var want = expected.Read("output");
        using var got = actual.Read("output");
        Assert.Equal(want.shape, got.shape);
        var error = (want - got).abs().max().item<float>();
        Assert.True(error <= 1e-4f, $"max abs error {error}");
    }

    [Fact]
    public void Compare_reports_the_largest_difference_from_the_expected_output()
    {
        using var dir = new TempDirectory();
        var io = Repository.Fixture("parity", "resnet20x2_cifar.io.safetensors");
        var result = Tool.Run("predict", Repository.Fixture("parity", "resnet20x2_cifar.safetensors"), "-i", io, "-o", dir.File("out.safetensors"), "--compare", io, "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        var difference = System.Text.Json.JsonDocument.Parse(result.Out).RootElement.GetProperty("maxAbsDifference").GetDouble();
        Assert.InRange(difference, 0, 1e-4);
        var mismatch = Tool.Run("predict", Repository.Fixture("parity", "resnet20x2_cifar.safetensors"), "-i", io, "-o", dir.File("out2.safetensors"),
            "--compare", Repository.Fixture("parity", "torchvision_bottleneck_1111.io.safetensors"));
        Assert.Equal(3, mismatch.ExitCode);
        ExitCodeTests.AssertOneErrorLine(mismatch, "has shape [2,10]");
    }

    [Fact]
    public void An_input_file_without_tensor_input_exits_3_and_writes_nothing()
    {
        using var dir = new TempDirectory();
        var model = Repository.Fixture("parity", "resnet20x2_cifar.safetensors");
        var result = Tool.Run("predict", model, "--input", model, "-o", dir.File("out.safetensors"));
        Assert.Equal(3, result.ExitCode);
        ExitCodeTests.AssertOneErrorLine(result, "no tensor 'input'");
        Assert.Empty(dir.Names());
    }

    [Fact]
    public void An_input_of_the_wrong_shape_exits_3_and_writes_nothing()
    {
        using var dir = new TempDirectory();
        var input = dir.File("in.safetensors");
        CheckpointWriter.WriteFile(input, [new("input", torch.zeros(2, 5, 32, 32))]);
        var result = Tool.Run("predict", Repository.Fixture("parity", "resnet20x2_cifar.safetensors"), "--input", input, "-o", dir.File("out.safetensors"));
        Assert.Equal(3, result.ExitCode);
        ExitCodeTests.AssertOneErrorLine(result, "[2,5,32,32] does not fit");
        Assert.Equal(["in.safetensors"], dir.Names());
    }

    [Fact]
    public void An_integer_input_exits_3()
    {
        using var dir = new TempDirectory();
        var input = dir.File("in.safetensors");
        CheckpointWriter.WriteFile(input, [new("input", torch.zeros([2, 3, 32, 32], ScalarType.Int64))]);
        var result = Tool.Run("predict", Repository.Fixture("parity", "resnet20x2_cifar.safetensors"), "--input", input, "-o", dir.File("out.safetensors"));
        Assert.Equal(3, result.ExitCode);
        ExitCodeTests.AssertOneErrorLine(result, "floating-point");
    }

    [Fact]
    public void A_truncated_checkpoint_exits_3_and_writes_nothing()
    {
        using var dir = new TempDirectory();
        var broken = dir.File("broken.safetensors");
        var bytes = File.ReadAllBytes(Repository.Fixture("parity", "resnet20x2_cifar.safetensors"));
        File.WriteAllBytes(broken, bytes[..(bytes.Length / 2)]);
        var result = Tool.Run("predict", broken, "--input", Repository.Fixture("parity", "resnet20x2_cifar.io.safetensors"), "-o", dir.File("out.safetensors"));
        Assert.Equal(3, result.ExitCode);
        ExitCodeTests.AssertOneErrorLine(result, "broken.safetensors");
        Assert.Equal(["broken.safetensors"], dir.Names());
    }

    [Fact]
    public void A_checkpoint_whose_shapes_do_not_fit_its_architecture_exits_3()
    {
        using var dir = new TempDirectory();
        using var source = Checkpoint.Open(Repository.Fixture("parity", "resnet20x2_cifar.safetensors"));
        var tensors = source.ReadAll();
        tensors["layer1.0.bn1.weight"] = torch.ones(7);
        var bad = dir.File("bad.safetensors");
        CheckpointWriter.WriteFile(bad, tensors);
        var result = Tool.Run("predict", bad, "--input", Repository.Fixture("parity", "resnet20x2_cifar.io.safetensors"), "-o", dir.File("out.safetensors"));
        Assert.Equal(3, result.ExitCode);
        ExitCodeTests.AssertOneErrorLine(result, "'layer1.0.bn1.weight' has shape [7]");
    }
}
