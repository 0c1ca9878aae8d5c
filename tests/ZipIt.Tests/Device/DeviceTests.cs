using System.Diagnostics;
using System.Text.Json;
using Snapshooter;
using Snapshooter.Xunit;
using TorchSharp;
using ZipIt.Engine.Runtime;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Models;
using ZipIt.Tests.Engine;
using ZipIt.Tests.ResNet;
using static TorchSharp.torch;
using ZipIt.Engine.Core;

namespace ZipIt.Tests.Device;

/// <summary>
/// <c>--device</c> and <c>--libtorch</c> on a machine without CUDA: the CPU path is unchanged, CUDA
/// requests fail with exit 5 and one line before anything is written, and a foreign libtorch is
/// refused by a build that carries its own (two libtorch abort a process).
/// </summary>
// Serial: --libtorch and --device cuda change TorchRuntime's process-wide libtorch request, and TwoModels seeds the global generator.
[Collection(SerialCollection.Name)]
public sealed class DeviceTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private (string A, string B, string Data) TwoModels()
    {
        var data = CollectTests.WriteImages(_dir, 12);
        var config = ResNetTestUtil.Architecture.Configure("resnet20");
        var paths = new List<string>();
        foreach (var seed in new[] { 1, 2 })
        {
            torch.manual_seed(seed);
            using var model = ResNetTestUtil.Architecture.Create(config);
            var path = _dir.File($"m{seed}.safetensors");
            CheckpointWriter.WriteFile(path, model.state_dict());
            paths.Add(path);
        }
        return (paths[0], paths[1], data);
    }

    [Fact]
    public void Doctor_names_the_bundled_libtorch_and_why_cuda_is_unavailable()
    {
        var result = Tool.Run("doctor");
        Assert.True(result.ExitCode == 0, result.ToString());
        var bundled = LibTorchLocator.BundledFolder()!;
        var text = Scrub.Text(result.Out, (bundled, "{libtorch}"))
            .Replace(System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription, "{dotnet}")
            .Replace($"threads: {Environment.ProcessorCount}", "threads: {cores}");
        Snapshot.Match(text);
    }

    [Fact]
    public void Doctor_json_says_which_libtorch_files_are_mapped_one_of_each()
    {
        var result = Tool.Run("doctor", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        var doc = JsonDocument.Parse(result.Out).RootElement;
        var libtorch = doc.GetProperty("libtorch");
        Assert.Equal("bundled", libtorch.GetProperty("source").GetString());
        Assert.Equal("2.10.0", libtorch.GetProperty("version").GetString());
        var files = libtorch.GetProperty("files").EnumerateArray().Select(f => f.GetString()!).ToList();
        Assert.Single(files, f => Path.GetFileName(f) == "libtorch_cpu.so");
        Assert.Equal("cpu", doc.GetProperty("device").GetString());
    }

    [Theory]
    [InlineData("cuda")]
    [InlineData("cuda:0")]
    [InlineData("cuda:3")]
    public void Cuda_without_a_gpu_is_exit_5_with_one_line_and_nothing_written(string device)
    {
        // This test process runs the bundled CPU libtorch, so CUDA is never available here.
        var (a, b, data) = TwoModels();
        var output = _dir.File("out/stats.safetensors");
        var result = Tool.Run("collect", a, b, "--data", data, "-o", output, "--device", device);
        Assert.Equal(5, result.ExitCode);
        var line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: --device {device}: no CUDA libtorch found", line);
        Assert.False(File.Exists(output));
        Assert.False(Directory.Exists(_dir.File("out")));

        var merge = Tool.Run("merge", "--models", a, b, "--data", data, "-o", _dir.File("m/merged.safetensors"), "--device", device);
        Assert.Equal(5, merge.ExitCode);
        Assert.False(Directory.Exists(_dir.File("m")));
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:x")]
    [InlineData("cuda:-1")]
    public void A_malformed_device_is_a_usage_error(string device)
    {
        var result = Tool.Run("doctor", "--device", device);
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith($"error: --device {device}: expected auto, cpu, cuda", result.Error);
    }

    [Fact]
    public void Libtorch_folders_without_libtorch_are_exit_5_naming_the_option()
    {
        var missing = Tool.Run("doctor", "--libtorch", _dir.File("nowhere"));
        Assert.Equal(5, missing.ExitCode);
        Assert.Equal($"error: --libtorch {_dir.File("nowhere")}: no such folder\n", missing.Error);

        Directory.CreateDirectory(_dir.File("empty"));
        var empty = Tool.Run(new Dictionary<string, string?> { ["LIBTORCH"] = _dir.File("empty") }, "doctor");
        Assert.Equal(5, empty.ExitCode);
        Assert.StartsWith($"error: ZIPIT_LIBTORCH {_dir.File("empty")}: no libtorch_cpu.so there", empty.Error);
    }

    [Fact]
    public void A_foreign_libtorch_is_refused_by_a_build_that_carries_one()
    {
        // Any folder with a libtorch_cpu.so other than the bundled one: loading it next to the
        // bundled copy would abort the process, so the command must stop before.
        var foreign = _dir.File("foreign");
        Directory.CreateDirectory(foreign);
        File.WriteAllBytes(Path.Combine(foreign, "libtorch_cpu.so"), []);
        var result = Tool.Run("doctor", "--libtorch", foreign);
        Assert.Equal(5, result.ExitCode);
        // Which of the two reasons depends on whether an earlier test already loaded the bundled one.
        Assert.True(result.Error.Contains("this process already runs libtorch from") || result.Error.Contains("carries its own CPU libtorch"), result.ToString());
        Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        // The bundled folder itself is accepted.
        Assert.Equal(0, Tool.Run("doctor", "--libtorch", LibTorchLocator.BundledFolder()!).ExitCode);
    }

    [Fact]
    public void Cpu_and_auto_give_the_same_merge_as_no_device_option()
    {
        var (a, b, data) = TwoModels();
        var outputs = new List<Dictionary<string, Tensor>>();
        foreach (var (name, extra) in new[] { ("none", Array.Empty<string>()), ("cpu", ["--device", "cpu"]), ("auto", new[] { "--device", "auto" }) })
        {
            var output = _dir.File($"{name}/merged.safetensors");
            var result = Tool.Run(["merge", "--models", a, b, "--data", data, "-o", output, "--batch-size", "6", .. extra]);
            Assert.True(result.ExitCode == 0, result.ToString());
            using var file = Checkpoint.Open(output);
            outputs.Add(file.ReadAll());
        }
        // Bit-identical weights (the metadata differs: it records the output path).
        foreach (var other in outputs.Skip(1))
        {
            Assert.Equal(outputs[0].Keys.Order(), other.Keys.Order());
            foreach (var (name, tensor) in outputs[0]) Assert.True(tensor.Equals(other[name]), name);
        }
    }

    [Fact]
    public void Version_files_of_pytorch_libtorch_zip_and_nuget_layouts_are_read()
    {
        var torch = _dir.File("site-packages/torch");
        Directory.CreateDirectory(Path.Combine(torch, "lib"));
        File.WriteAllText(Path.Combine(torch, "version.py"), "from typing import Optional\n\n__all__ = ['__version__']\n__version__ = '2.11.0+cu130'\ndebug = False\ncuda: Optional[str] = '13.0'\n");
        Assert.Equal("2.11.0+cu130", LibTorchLocator.VersionOf(Path.Combine(torch, "lib")));
        var zip = _dir.File("libtorch");
        Directory.CreateDirectory(Path.Combine(zip, "lib"));
        File.WriteAllText(Path.Combine(zip, "build-version"), "2.10.0+cpu\n");
        Assert.Equal("2.10.0+cpu", LibTorchLocator.VersionOf(Path.Combine(zip, "lib")));
        Assert.Equal("2.10.0", LibTorchLocator.VersionOf("/home/u/.nuget/packages/libtorch-cpu-linux-x64/2.10.0/runtimes/linux-x64/native"));
        Assert.Null(LibTorchLocator.VersionOf(_dir.File("x/lib")));
        Assert.Equal(new Version(2, 11), LibTorchLocator.ParseVersion("2.11.0+cu130"));
    }
}
