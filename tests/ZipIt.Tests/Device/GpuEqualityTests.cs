using ZipIt.Tests.Infrastructure;
using System.Diagnostics;
using TorchSharp;
using ZipIt.Engine.Checkpoints;
using ZipIt.Tests.Engine;
using ZipIt.Tests.ResNet;
using ZipIt.Engine.Core;

namespace ZipIt.Tests.Device;

/// <summary>
/// Runs only where a GPU is: set <c>ZIPIT_TEST_GPU_TOOL</c> to a zipit built without bundled
/// libtorch (scripts/publish-gpu.sh) and <c>ZIPIT_LIBTORCH</c> to a CUDA libtorch (PyTorch's
/// torch/lib). Otherwise skipped with that reason, never passed vacuously.
/// </summary>
public sealed class GpuFactAttribute : FactAttribute
{
    public const string ToolVariable = "ZIPIT_TEST_GPU_TOOL";

    public GpuFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(ToolVariable)) || string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ZIPIT_LIBTORCH")))
            Skip = $"needs a GPU: set {ToolVariable} (a zipit built without bundled libtorch) and ZIPIT_LIBTORCH (a CUDA libtorch), see scripts/gpu-run.sh";
    }
}

/// <summary>The same merge on CPU and GPU: identical matches, weights and outputs equal within float tolerance.</summary>
[Trait("Category", Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class GpuEqualityTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [GpuFact]
    public void Cpu_and_gpu_merges_agree()
    {
        var tool = Environment.GetEnvironmentVariable(GpuFactAttribute.ToolVariable)!;
        Assert.Equal(0, Run(tool, "doctor", "--device", "cuda").Code);
        var data = CollectTests.WriteImages(_dir, 48);
        var input = _dir.File("input.safetensors");
        CheckpointWriter.WriteFile(input, [new("input", torch.randn([8, 3, 32, 32], generator: new torch.Generator(99)))]);
        var config = ResNetTestUtil.Architecture.Configure("resnet20");
        var models = new List<string>();
        foreach (var seed in new[] { 1, 2 })
        {
            torch.manual_seed(seed);
            using var model = ResNetTestUtil.Architecture.Create(config);
            models.Add(_dir.File($"m{seed}.safetensors"));
            CheckpointWriter.WriteFile(models[^1], model.state_dict());
        }
        foreach (var device in new[] { "cpu", "cuda" })
        {
            var d = _dir.File(device);
            Directory.CreateDirectory(d);
            Step(tool, "collect", models[0], models[1], "--data", data, "-o", $"{d}/stats.safetensors", "--batch-size", "16", "--device", device);
            Step(tool, "match", $"{d}/stats.safetensors", "-o", $"{d}/matches.safetensors", "--device", device);
            Step(tool, "zip", models[0], models[1], "--matches", $"{d}/matches.safetensors", "-o", $"{d}/zipped.safetensors", "--device", device);
            Step(tool, "reset-bn", $"{d}/zipped.safetensors", "--data", data, "-o", $"{d}/merged.safetensors", "--device", device);
            Step(tool, "predict", $"{d}/merged.safetensors", "-i", input, "-o", $"{d}/out.safetensors", "--device", device);
        }
        using var cpuMatches = Checkpoint.Open(_dir.File("cpu/matches.safetensors"));
        using var gpuMatches = Checkpoint.Open(_dir.File("cuda/matches.safetensors"));
        foreach (var (name, tensor) in cpuMatches.ReadAll())
            Assert.True(tensor.Equals(gpuMatches.Read(name)), $"matches differ at {name}");
        using var cpuStats = Checkpoint.Open(_dir.File("cpu/stats.safetensors"));
        using var gpuStats = Checkpoint.Open(_dir.File("cuda/stats.safetensors"));
        foreach (var (name, tensor) in cpuStats.ReadAll())
            Assert.True(CloseAtScale(tensor, gpuStats.Read(name), 1e-5), $"statistics differ at {name}");
        using var cpuOut = Checkpoint.Open(_dir.File("cpu/out.safetensors"));
        using var gpuOut = Checkpoint.Open(_dir.File("cuda/out.safetensors"));
        Assert.True(CloseAtScale(cpuOut.Read("output"), gpuOut.Read("output"), 1e-4), "merged outputs differ");
    }

    // Float32 sums run in another order on a GPU, so entries near zero differ by more than any
    // per-entry rtol allows; the bound is relative to the tensor's largest magnitude (as
    // scripts/gpu-compare.py checks; on an H100 the largest differences were 1.2e-6 in the
    // statistics and 1.1e-6 in the outputs, identical matches).
    private static bool CloseAtScale(torch.Tensor cpu, torch.Tensor gpu, double relative)
    {
        var scale = cpu.abs().max().to(torch.float64).item<double>();
        return (cpu.to(torch.float64) - gpu.to(torch.float64)).abs().max().item<double>() <= relative * scale;
    }

    private static void Step(string tool, params string[] args)
    {
        var (code, output) = Run(tool, args);
        Assert.True(code == 0, $"{string.Join(' ', args)}: exit {code}\n{output}");
    }

    private static (int Code, string Output) Run(string tool, params string[] args)
    {
        var info = new ProcessStartInfo(tool, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr);
    }
}
