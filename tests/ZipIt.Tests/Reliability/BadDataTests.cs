using TorchSharp;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Core;
using static ZipIt.Tests.Reliability.ReliabilitySupport;

namespace ZipIt.Tests.Reliability;

/// <summary>Bad data and absurd options are one line and a defined exit, never libtorch's failure.</summary>
[Trait("Category", ZipIt.Tests.Infrastructure.Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class BadDataTests
{
    public static TheoryData<string, long[]> BadImages => new()
    {
        { "collect", [4, 1, 32, 32] },
        { "reset-bn", [4, 1, 32, 32] },
        { "evaluate", [4, 1, 32, 32] },
        { "collect", [4, 32, 32] },
        { "reset-bn", [4, 3, 32, 32, 1] },
        { "evaluate", [4, 3 * 32 * 32] },
    };

    [Theory]
    [MemberData(nameof(BadImages))]
    public void Images_that_do_not_fit_the_model_are_exit_3_naming_the_file_and_tensor(string command, long[] shape)
    {
        using var dir = new TempDirectory();
        var a = Model(dir, "a.safetensors", 1);
        var b = Model(dir, "b.safetensors", 2);
        var d = DataFile(dir, "bad.safetensors", shape);
        var output = dir.File("out.safetensors");
        string[] args = command switch
        {
            "collect" => ["collect", a, b, "--data", d, "-o", output],
            "reset-bn" => ["reset-bn", a, "--data", d, "-o", output],
            _ => ["evaluate", a, "--data", d, "--task", "a=0-9", "-o", output],
        };
        var result = Tool.Run(args);
        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Contains("bad.safetensors: tensor 'images'", result.Error);
        Assert.DoesNotContain("unexpected", result.Error);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void An_absurd_width_is_exit_5_with_the_estimate_and_writes_nothing()
    {
        using var dir = new TempDirectory();
        var result = Tool.Run("init", "resnet20", "--arch-set", "width=100000", "-o", dir.File("w.safetensors"));
        Assert.True(result.ExitCode == 5, result.ToString());
        Assert.Contains("needs about", result.Error);
        Assert.Single(result.Error.Trim().Split('\n'));
        Assert.Empty(dir.Names());
    }

    [Fact]
    public void Libtorch_out_of_memory_is_recognised()
    {
        var e = new System.Runtime.InteropServices.ExternalException("[enforce fail at alloc_cpu.cpp:116] data. DefaultCPUAllocator: not enough memory: you tried to allocate 92 TB.\nbacktrace...");
        Assert.True(ResourceErrors.IsOutOfMemory(e));
        Assert.DoesNotContain("backtrace", ResourceErrors.FirstLine(e));
        Assert.True(ResourceErrors.IsOutOfMemory(new System.Runtime.InteropServices.ExternalException("CUDA out of memory. Tried to allocate 2.00 GiB")));
        Assert.False(ResourceErrors.IsOutOfMemory(new System.Runtime.InteropServices.ExternalException("Expected 4D input")));
    }

    [Fact]
    public void Predict_compare_against_nan_is_exit_3_and_leaves_no_output()
    {
        using var dir = new TempDirectory();
        var a = Model(dir, "a.safetensors", 1);
        var x = dir.File("x.safetensors");
        using (var t = torch.zeros(2, 3, 32, 32)) CheckpointWriter.WriteFile(x, [new("input", t)]);
        var expected = dir.File("e.safetensors");
        using (var t = torch.full(2, 10, float.NaN)) CheckpointWriter.WriteFile(expected, [new("output", t)]);
        var result = Tool.Run("predict", a, "-i", x, "-o", dir.File("o.safetensors"), "--compare", expected, "--json");
        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Contains("NaN", result.Error);
        Assert.False(File.Exists(dir.File("o.safetensors")));
    }

    [Theory]
    [InlineData("--image-size", "0")]
    [InlineData("--embedding-dim", "0")]
    public void Train_options_out_of_range_are_exit_2_naming_the_option(string option, string value)
    {
        using var dir = new TempDirectory();
        var result = Tool.Run("train", "resnet20", "--data", "fashion-mnist:0-4", "-o", dir.File("t.safetensors"), option, value);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(option, result.Error);
        Assert.DoesNotContain("classes", result.Error);
    }
}
