using System.Diagnostics;
using TorchSharp;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Data;
using static TorchSharp.torch;

namespace ZipIt.Tests.Reliability;

/// <summary>Models, data files and the built tool for the reliability tests.</summary>
internal static class ReliabilitySupport
{
    /// <summary><c>init resnet20 --seed N</c> into <paramref name="dir"/>.</summary>
    public static string Model(TempDirectory dir, string name, int seed, params string[] settings)
    {
        var path = dir.File(name);
        var args = new List<string> { "init", "resnet20", "--seed", seed.ToString(), "-o", path };
        foreach (var s in settings) args.AddRange(["--arch-set", s]);
        var result = Tool.Run([.. args]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return path;
    }

    /// <summary>A data file with <c>images</c> [N, C, H, W] (any shape given) and <c>labels</c> n % classes.</summary>
    public static string DataFile(TempDirectory dir, string name, long[] shape, int classes = 10, long seed = 5)
    {
        var path = dir.File(name);
        using var images = torch.randn(shape, generator: new Generator((ulong)seed));
        using var labels = torch.arange(shape[0], ScalarType.Int64) % classes;
        CheckpointWriter.WriteFile(path, [new(TensorDataset.ImagesTensor, images), new(TensorDataset.LabelsTensor, labels)]);
        return path;
    }

    /// <summary>The tool as built by the solution (<c>src/ZipIt.Tool/bin/Release/net10.0</c>), for tests that need a real process.</summary>
    public static string ToolDll
    {
        get
        {
            var path = Path.Combine(Repository.Root, "src", "ZipIt.Tool", "bin", "Release", "net10.0", "dotnet-zipit.dll");
            Assert.True(File.Exists(path), $"build the solution first: {path} is missing");
            return path;
        }
    }

    public static ProcessStartInfo Start(string file, IEnumerable<string> args, string workingDirectory)
    {
        var info = new ProcessStartInfo(file) { WorkingDirectory = workingDirectory, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["ZIPIT_HOME"] = Path.Combine(workingDirectory, ".home");
        info.Environment["ZIPIT_PLUGIN_PATH"] = "";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return info;
    }

    public static void Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, pid.ToString()]);
        kill.WaitForExit();
    }

    public static bool WaitGone(int pid, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (!Directory.Exists($"/proc/{pid}") || File.ReadAllText($"/proc/{pid}/stat").Split(' ')[2] == "Z") return true;
            Thread.Sleep(100);
        }
        return false;
    }
}
