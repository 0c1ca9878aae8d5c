using System.Diagnostics;
using ZipIt.Tests.Engine;
using static ZipIt.Tests.Reliability.ReliabilitySupport;

namespace ZipIt.Tests.Reliability;

/// <summary>
/// A run completes (exit 0, every output in place, no word of cancellation) or is cancelled (exit
/// 130, nothing new on disk), wherever the signal lands. The test hook <c>TEST_SIGNAL</c> raises
/// the signal at one exact point, around every rename, instead of racing a timer.
/// </summary>
[Trait("Category", ZipIt.Tests.Infrastructure.Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class SignalInstantTests : IDisposable
{
    private static readonly string[] MergeOutputs = ["m.README.md", "m.safetensors", "m.safetensors.recipe.json"];

    private readonly TempDirectory _dir = new();
    private readonly string _a;
    private readonly string _b;
    private readonly string _data;

    public SignalInstantTests()
    {
        _a = _dir.File("a.safetensors");
        _b = _dir.File("b.safetensors");
        File.Copy(Repository.Fixture("parity", "resnet20x2_cifar.safetensors"), _a);
        File.Copy(_a, _b);
        _data = CollectTests.WriteImages(_dir, 8);
    }

    public void Dispose() => _dir.Dispose();

    private string[] Before() => _dir.Names();

    private string[] Merge() => ["merge", "--models", _a, _b, "--data", _data, "--batch-size", "4", "--matcher", "average", "-o", _dir.File("m.safetensors")];

    private string[] Collect() => ["collect", _a, _b, "--data", _data, "--batch-size", "4", "-o", _dir.File("metrics.safetensors")];

    private static CliResult RunWithSignalAt(string point, string[] args) =>
        Tool.Run(new Dictionary<string, string?> { ["TEST_SIGNAL"] = point }, args);

    [Theory]
    [InlineData("rename:m.safetensors")]
    [InlineData("renamed:m.safetensors")]
    [InlineData("rename:m.safetensors.recipe.json")]
    [InlineData("renamed:m.safetensors.recipe.json")]
    [InlineData("rename:m.README.md")]
    [InlineData("renamed:m.README.md")]
    [InlineData("end")]
    [InlineData("exit")]
    public void A_signal_once_merge_renames_its_outputs_lets_it_complete(string point)
    {
        var before = Before();
        var result = RunWithSignalAt(point, Merge());
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("cancelled", result.Error);
        Assert.Equal([.. before, .. MergeOutputs], _dir.Names().Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("commit:m.safetensors")]
    [InlineData("commit:m.README.md")]
    public void A_signal_before_merge_renames_its_outputs_cancels_it_with_nothing_on_disk(string point)
    {
        var before = Before();
        var result = RunWithSignalAt(point, Merge());
        Assert.True(result.ExitCode == 130, result.ToString());
        Assert.Contains("error: cancelled", result.Error);
        Assert.Equal(before, _dir.Names());
    }

    [Theory]
    [InlineData("rename:metrics.safetensors", 0)]
    [InlineData("renamed:metrics.safetensors", 0)]
    [InlineData("end", 0)]
    [InlineData("exit", 0)]
    [InlineData("commit:metrics.safetensors", 130)]
    public void Collect_completes_or_is_cancelled_whole(string point, int exit)
    {
        var before = Before();
        var result = RunWithSignalAt(point, Collect());
        Assert.True(result.ExitCode == exit, result.ToString());
        if (exit == 0)
        {
            Assert.DoesNotContain("cancelled", result.Error);
            Assert.Equal([.. before, "metrics.safetensors"], _dir.Names().Order(StringComparer.Ordinal));
        }
        else
        {
            Assert.Contains("error: cancelled", result.Error);
            Assert.Equal(before, _dir.Names());
        }
    }

    [Fact]
    public void A_signal_at_the_recipes_rename_in_the_tools_own_process_exits_0_with_no_stack_trace()
    {
        var before = Before();
        var info = Start("dotnet", [ToolDll, .. Merge()], _dir.Path);
        info.Environment["ZIPIT_TEST_SIGNAL"] = "renamed:m.safetensors.recipe.json";
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(120)), "merge did not end");
        var error = stderr.Result;
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {error}");
        Assert.DoesNotContain("cancelled", error);
        Assert.DoesNotContain("Unhandled exception", error);
        Assert.Equal([.. before, .. MergeOutputs], _dir.Names().Where(n => n != ".home").Order(StringComparer.Ordinal));
        _ = stdout.Result;
    }
}
