using System.CommandLine;
using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using TorchSharp;
using ZipIt.Engine.Runtime;
using ZipIt.Engine.Models;
using ZipIt.Engine.Output;
using ZipIt.Engine.Core;
using ZipIt.Hosting;

using ZipIt.Engine.Checkpoints;

namespace ZipIt.Commands;

/// <summary>
/// <c>doctor [--device D] [--json]</c>: which libtorch is loaded (folder, version, where the choice
/// came from), whether CUDA and which GPUs are visible and, if not, why; the device that
/// <c>--device</c> resolves to. Exit 0 unless <c>--device</c> asks for something unavailable (5).
/// </summary>
internal static class DoctorCommand
{
    public static Command Create(CommandRunner runner)
    {
        var device = CommonOptions.Device();
        var json = CommonOptions.Json();
        var command = new Command("doctor", "Show which libtorch is loaded, whether CUDA and which GPUs are visible (and why not), and the device --device picks.")
        {
            device, json,
        };
        command.SetAction((parse, ct) => Task.FromResult(runner.Run(parse, ct, ctx => Execute(ctx, ctx.Value(device)!, ctx.Value(json)))));
        return command.WithExamples(
            "dotnet zipit doctor",
            "dotnet zipit doctor --device cuda --json");
    }

    private static int Execute(CommandContext ctx, string deviceSpec, bool json)
    {
        TorchRuntime.Initialize();
        var loaded = TorchRuntime.Loaded!;
        var cuda = TorchRuntime.Cuda();
        // Checked after the report's facts are gathered, so that 'doctor --device cuda' fails with the same reason.
        var device = TorchRuntime.ResolveDevice(deviceSpec);
        var files = MappedLibTorchFiles();
        var gpus = cuda.Available ? NvidiaSmi() : [];
        var tool = typeof(DoctorCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "?";
        var torchSharp = typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "?";
        if (json)
        {
            Json.Write(ctx.Out, new
            {
                version = 1,
                tool,
                runtime = RuntimeInformation.FrameworkDescription,
                torchSharp,
                libtorch = new { folder = loaded.Dir, source = loaded.Source, version = loaded.Version, cudaVersion = loaded.CudaVersion, cuda = loaded.HasCuda, files },
                cuda = new { available = cuda.Available, devices = cuda.Count, reason = cuda.Why, gpus },
                threads = torch.get_num_threads(),
                device = device.ToString(),
            });
            return 0;
        }
        var o = ctx.Out;
        o.WriteLine($"zipit {tool} on {RuntimeInformation.FrameworkDescription} ({RuntimeInformation.RuntimeIdentifier}), TorchSharp {torchSharp}");
        o.WriteLine($"libtorch: {loaded.Version ?? "version unknown"}{(loaded.CudaVersion is null ? "" : $" (CUDA {loaded.CudaVersion})")}, {Describe(loaded.Source)}");
        o.WriteLine($"  folder: {loaded.Dir}");
        foreach (var f in files) o.WriteLine($"  loaded: {f}");
        o.WriteLine($"  builds: {(loaded.HasCuda ? "CPU and CUDA" : "CPU only")}");
        o.WriteLine(cuda.Available
            ? $"CUDA: available, {cuda.Count} GPU{(cuda.Count == 1 ? "" : "s")}"
            : $"CUDA: not available: {cuda.Why}");
        foreach (var g in gpus) o.WriteLine($"  gpu: {g}");
        o.WriteLine($"threads: {torch.get_num_threads()}");
        o.WriteLine($"device: --device {deviceSpec} → {device}");
        return 0;
    }

    private static string Describe(string source) => source switch
    {
        "bundled" => "bundled with zipit (CPU)",
        "PyTorch" => "an installed PyTorch (found because CUDA was asked for)",
        _ => $"chosen by {source}",
    };

    /// <summary>The libtorch files actually mapped into this process (Linux), the proof that only one libtorch is loaded.</summary>
    private static List<string> MappedLibTorchFiles()
    {
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps)) return [];
        return File.ReadLines(maps)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(p => p.Length >= 6)
            .Select(p => string.Join(' ', p.Skip(5)))
            .Where(p => Path.GetFileName(p) is "libtorch_cpu.so" or "libtorch_cuda.so" or "libtorch.so" or "libc10.so" or "libc10_cuda.so" or "libLibTorchSharp.so")
            .Distinct()
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>GPU names and memory from nvidia-smi when it is installed (TorchSharp has no device-name API).</summary>
    private static List<string> NvidiaSmi()
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("nvidia-smi", ["--query-gpu=index,name,memory.total,driver_version", "--format=csv,noheader"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (p is null) return [];
            var lines = p.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
            return p.WaitForExit(10_000) && p.ExitCode == 0 ? lines : [];
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return [];
        }
    }
}
