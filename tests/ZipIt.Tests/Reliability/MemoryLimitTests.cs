using static ZipIt.Tests.Reliability.ReliabilitySupport;

namespace ZipIt.Tests.Reliability;

/// <summary>collect, merge and train estimate their peak memory before their work and refuse a limit they would exceed (issue 15, class 4).</summary>
[Trait("Category", ZipIt.Tests.Infrastructure.Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class MemoryLimitTests
{
    private static void RequireExit5(CliResult result, TempDirectory dir, string what)
    {
        Assert.True(result.ExitCode == 5, result.ToString());
        var line = Assert.Single(result.Error.Trim().Split('\n'));
        Assert.Contains(what, line);
        Assert.Contains("needs about", line);
        Assert.Contains("--max-memory is 976.6 KiB", line);
        Assert.DoesNotContain(Directory.GetFiles(dir.Path), f => Path.GetFileName(f).StartsWith("out", StringComparison.Ordinal) || Path.GetFileName(f).StartsWith('.'));
    }

    [Fact]
    public void Collect_and_merge_over_the_limit_are_exit_5_with_the_estimate_and_write_nothing()
    {
        using var dir = new TempDirectory();
        var a = Model(dir, "a.safetensors", 1);
        var b = Model(dir, "b.safetensors", 2);
        var d = DataFile(dir, "d.safetensors", [8, 3, 32, 32]);
        RequireExit5(Tool.Run("collect", a, b, "--data", d, "-o", dir.File("out.safetensors"), "--max-memory", "1MB"), dir, "collect");
        RequireExit5(Tool.Run("merge", "--models", a, b, "--data", d, "-o", dir.File("out.safetensors"), "--max-memory", "1MB"), dir, "merge");
        // The same commands under a generous limit run.
        Assert.Equal(0, Tool.Run("collect", a, b, "--data", d, "-o", dir.File("metrics.safetensors"), "--max-memory", "64GiB").ExitCode);
    }

    [Fact]
    public void Train_over_the_limit_is_exit_5_before_the_first_step()
    {
        using var dir = new TempDirectory();
        var data = Path.Combine(dir.Path, "squares");
        SyntheticIdx.Write(data, classes: 2, trainPerClass: 10, testPerClass: 4);
        RequireExit5(Tool.Run("train", "resnet20", "--data", $"{data}:0-1", "-o", dir.File("out.safetensors"), "--epochs", "1", "--max-memory", "1MB"), dir, "training");
    }

    [Theory]
    [InlineData("collect", "lots")]
    [InlineData("merge", "0")]
    [InlineData("train", "5 potatoes")]
    [InlineData("collect", "12 parsecs")]
    public void A_max_memory_that_is_not_a_size_is_exit_2(string command, string value)
    {
        using var dir = new TempDirectory();
        var a = Model(dir, "a.safetensors", 1);
        var d = DataFile(dir, "d.safetensors", [4, 3, 32, 32]);
        string[] args = command switch
        {
            "collect" => ["collect", a, a, "--data", d, "-o", dir.File("out.safetensors")],
            "merge" => ["merge", "--models", a, a, "--data", d, "-o", dir.File("out.safetensors")],
            _ => ["train", "resnet20", "--data", $"{dir.Path}:0-1", "-o", dir.File("out.safetensors")],
        };
        var result = Tool.Run([.. args, "--max-memory", value]);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains($"--max-memory {value}", result.Error);
        Assert.False(File.Exists(dir.File("out.safetensors")));
    }
}
