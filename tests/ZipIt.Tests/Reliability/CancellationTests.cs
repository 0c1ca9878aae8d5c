using System.Diagnostics;
using TorchSharp;
using ZipIt.Engine.Checkpoints;
using ZipIt.Cli;
using ZipIt.Engine.Output;
using static ZipIt.Tests.Reliability.ReliabilitySupport;

namespace ZipIt.Tests.Reliability;

/// <summary>Nothing is left behind when a command is cancelled, fails, or loses its parent.</summary>
[Trait("Category", ZipIt.Tests.Infrastructure.Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class CancellationTests
{
    [Fact]
    public void Temps_are_named_with_the_process_and_recognised()
    {
        using var dir = new TempDirectory();
        var temp = TempFiles.Create(dir.File("out.safetensors"));
        try
        {
            Assert.True(TempFiles.IsTempName(Path.GetFileName(temp), out var pid), temp);
            Assert.Equal(Environment.ProcessId, pid);
            Assert.StartsWith(".out.safetensors.zipit-tmp-", Path.GetFileName(temp));
            Assert.Contains(temp, TempFiles.Pending);
        }
        finally
        {
            TempFiles.Delete(temp);
        }
        Assert.DoesNotContain(temp, TempFiles.Pending);
        Assert.False(TempFiles.IsTempName(".out.safetensors.tmp-0123456789ab", out _));
        Assert.False(TempFiles.IsTempName("out.safetensors", out _));
    }

    [Fact]
    public void A_write_removes_stale_temps_of_dead_processes_and_keeps_live_ones_and_other_files()
    {
        using var dir = new TempDirectory();
        var dead = dir.File(".out.safetensors.zipit-tmp-999999999-0123456789ab");
        var live = dir.File($".out.safetensors.zipit-tmp-1-0123456789ab");
        var foreign = dir.File(".out.safetensors.tmp-0123456789ab");
        foreach (var f in new[] { dead, live, foreign }) File.WriteAllText(f, "");
        var result = Tool.Run("init", "resnet20", "-o", dir.File("out.safetensors"));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.False(File.Exists(dead));
        Assert.True(File.Exists(live));
        Assert.True(File.Exists(foreign));
    }

    [Fact]
    public void A_write_cancelled_in_its_scope_throws_and_leaves_nothing()
    {
        using var dir = new TempDirectory();
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        using var tensor = torch.ones(1000);
        using (TempFiles.Begin(cancelled.Token))
        {
            Assert.Throws<OperationCanceledException>(() => CheckpointWriter.WriteFile(dir.File("a.safetensors"), [new("t", tensor)]));
            Assert.Throws<OperationCanceledException>(() => AtomicFile.WriteAllText(dir.File("a.json"), "{}"));
        }
        Assert.Empty(dir.Names());
    }

    [Fact]
    public void A_scope_deletes_the_temps_its_command_left_registered()
    {
        using var dir = new TempDirectory();
        string temp;
        using (TempFiles.Begin(CancellationToken.None))
        {
            temp = TempFiles.Create(dir.File("x.json"));
            File.WriteAllText(temp, "partial");
        }
        Assert.False(File.Exists(temp));
        Assert.Empty(dir.Names());
    }

    [Fact]
    public void A_cancelled_command_exits_130_and_writes_nothing()
    {
        using var dir = new TempDirectory();
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var stderr = new StringWriter();
        var code = ZipItApp.Run(["init", "resnet20", "-o", dir.File("m.safetensors")], new StringWriter(), stderr,
            new Dictionary<string, string?> { ["PLUGIN_PATH"] = "" }, cancelled.Token);
        Assert.True(code == 130, $"exit {code}: {stderr}");
        Assert.Empty(dir.Names());
    }

    [Fact]
    public async Task Sigterm_during_collect_exits_130_and_leaves_no_file()
    {
        using var dir = new TempDirectory();
        var a = Model(dir, "a.safetensors", 1);
        var b = Model(dir, "b.safetensors", 2);
        var data = DataFile(dir, "d.safetensors", [2000, 3, 32, 32]);
        var before = dir.Names();
        using var process = Process.Start(Start("dotnet", [ToolDll, "collect", a, b, "--data", data, "-o", dir.File("m.safetensors"), "--batch-size", "50"], dir.Path))!;
        var stderr = process.StandardError.ReadToEndAsync();
        Thread.Sleep(TimeSpan.FromSeconds(4));
        Assert.False(process.HasExited, "collect ended before the signal; the test needs a longer run");
        Signal(process.Id, "TERM");
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(60)), "collect did not stop within 60 s of SIGTERM");
        var error = await stderr;
        Assert.True(process.ExitCode == 130, $"exit {process.ExitCode}: {error}");
        Assert.Contains("cancelled", error);
        Assert.Equal(before, dir.Names().Where(n => n != ".home").ToArray());
    }

    [Fact]
    public void Killing_the_parent_stops_the_worker_before_it_writes()
    {
        using var dir = new TempDirectory();
        var a = Model(dir, "a.safetensors", 1);
        var b = Model(dir, "b.safetensors", 2);
        var data = DataFile(dir, "d.safetensors", [2000, 3, 32, 32]);
        var before = dir.Names();
        // A shell stands in for the dotnet launcher: it starts zipit as a child and waits for it.
        var script = $"dotnet '{ToolDll}' collect '{a}' '{b}' --data '{data}' -o '{dir.File("m.safetensors")}' & echo $! > '{dir.File("worker.pid")}'; wait";
        using var shell = Process.Start(Start("bash", ["-c", script], dir.Path))!;
        var clock = Stopwatch.StartNew();
        while (!File.Exists(dir.File("worker.pid")) || File.ReadAllText(dir.File("worker.pid")).Trim().Length == 0)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "the shell did not start zipit");
            Thread.Sleep(50);
        }
        var worker = int.Parse(File.ReadAllText(dir.File("worker.pid")).Trim());
        Thread.Sleep(TimeSpan.FromSeconds(4));
        Assert.True(Directory.Exists($"/proc/{worker}"), "zipit ended before its parent was killed; the test needs a longer run");
        Signal(shell.Id, "KILL");
        shell.WaitForExit();
        Assert.True(WaitGone(worker, TimeSpan.FromSeconds(60)), "zipit kept running after its parent was killed");
        Assert.Equal(before, dir.Names().Where(n => n is not ".home" and not "worker.pid").ToArray());
    }
}
