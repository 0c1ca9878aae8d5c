using System.Diagnostics;
using ZipIt.Tests.Infrastructure;
using TorchSharp;
using ZipIt.Engine.Checkpoints;
using static TorchSharp.torch;

namespace ZipIt.Tests.Checkpoints;

/// <summary>
/// Runs only where <c>/usr/bin/python3</c> imports torch (Debian's <c>python3-torch</c>, which
/// ./setup.sh installs; not the pyenv python on PATH, which has no torch). Otherwise skipped
/// with that reason, never passed vacuously.
/// </summary>
public sealed class PythonTorchFactAttribute : FactAttribute
{
    public PythonTorchFactAttribute()
    {
        if (PythonTorch.Missing is { } why) Skip = why;
    }
}

/// <summary>Debian's Python with PyTorch, run on a script with a time limit.</summary>
internal static class PythonTorch
{
    public const string Python = "/usr/bin/python3";

    private static readonly Lazy<string?> Probe = new(() =>
    {
        const string needs = "needs " + Python + " with PyTorch (apt-get install python3-torch; ./setup.sh installs it)";
        if (!File.Exists(Python)) return $"{needs}: {Python} is missing";
        var (code, output) = Run(TimeSpan.FromMinutes(2), "-c", "import torch; print(torch.__version__)");
        return code == 0 ? null : $"{needs}: it cannot import torch ({output.Trim().Split('\n')[^1]})";
    });

    /// <summary>Why the tests that need PyTorch cannot run here, or null when they can.</summary>
    public static string? Missing => Probe.Value;

    /// <summary>Runs <see cref="Python"/> with <paramref name="args"/>; stdout and stderr together.</summary>
    public static (int Code, string Output) Run(TimeSpan limit, params string[] args)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        // Debian's interpreter with Debian's packages: nothing from a pyenv or virtualenv around the tests.
        foreach (var v in new[] { "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP" }) start.Environment.Remove(v);
        start.Environment["PYTHONNOUSERSITE"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"timed out after {limit.TotalSeconds} s");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}

/// <summary>
/// The torch.save files zipit writes, loaded by PyTorch itself (check_torch_load.py beside the
/// fixtures): <c>torch.load(weights_only=True)</c> gives the tensors, <c>load_state_dict(strict=True)</c>
/// takes them, torch.save writes the same pickle and PyTorch's zip writer the same bytes.
/// Integration tier: each test starts Python and imports torch (seconds each on a busy machine).
/// </summary>
[Trait("Category", Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class PyTorchWriterTorchLoadTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    internal static string Check(params string[] args)
    {
        var (code, output) = PythonTorch.Run(Limit, [PyTorchFixtures.Path("check_torch_load.py"), .. args]);
        Assert.True(code == 0, $"check_torch_load.py {string.Join(" ", args.Select(Path.GetFileName))}: exit {code}\n{output}");
        return output;
    }

    [PythonTorchFact]
    public void Every_dtype_and_shape_loads_with_torch_load_weights_only()
    {
        using var dir = new TempDirectory();
        var tensors = PyTorchWriterTests.EveryKind();
        try
        {
            CheckpointWriter.WritePyTorch(dir.File("every.pt"), tensors);
            CheckpointWriter.WriteFile(dir.File("every.safetensors"), tensors);
            var output = Check("state", dir.File("every.pt"), dir.File("every.safetensors"));
            Assert.Contains($"ok torch.load(weights_only=True): {tensors.Count} tensors equal", output);
            Assert.Contains("ok data.pkl is the pickle torch.save writes", output);
            Assert.Contains("byte for byte as PyTorchFileWriter writes them", output);
        }
        finally
        {
            PyTorchWriterTests.DisposeAll(tensors);
        }
    }

    [PythonTorchFact]
    public void A_converted_resnet_loads_into_its_pytorch_module_with_strict_load_state_dict()
    {
        using var dir = new TempDirectory();
        var twin = PyTorchFixtures.Path("tiny_resnet.safetensors");
        Assert.Equal(0, Tool.Run("convert", twin, "-o", dir.File("tiny.pt")).ExitCode);
        var output = Check("state", dir.File("tiny.pt"), twin, "--module", "tiny_resnet");
        Assert.Contains("ok tiny_resnet.load_state_dict(strict=True)", output);

        // From a torch.save file, with --dtype: the bf16 twin is convert's own safetensors output.
        var pt = PyTorchFixtures.Path("tiny_resnet.pt");
        Assert.Equal(0, Tool.Run("convert", pt, "-o", dir.File("bf16.pth"), "--dtype", "bf16").ExitCode);
        Assert.Equal(0, Tool.Run("convert", pt, "-o", dir.File("bf16.safetensors"), "--dtype", "bf16").ExitCode);
        Assert.Contains("ok data.pkl is the pickle torch.save writes", Check("state", dir.File("bf16.pth"), dir.File("bf16.safetensors")));
    }

    [PythonTorchFact]
    public void Thousands_of_tensors_pickle_as_torch_save_pickles_them()
    {
        // Past 1000 items (Python's SETITEMS batches) and past 256 memo entries (LONG_BINPUT, and
        // LONG_BINGET for storage types first seen late).
        using var dir = new TempDirectory();
        var g = new Generator(3);
        var types = new[] { ScalarType.Float32, ScalarType.Float16, ScalarType.Int64 };
        var tensors = Enumerable.Range(0, 1203).Select(i => new KeyValuePair<string, Tensor>(
            $"layers.{i}.w", i < 600 ? randn([i % 4 + 1, 2], generator: g).to_type(types[i % 3]) : Small(i, g))).ToList();
        try
        {
            CheckpointWriter.WritePyTorch(dir.File("many.pt"), tensors);
            CheckpointWriter.WriteFile(dir.File("many.safetensors"), tensors);
            Assert.Contains("ok data.pkl is the pickle torch.save writes", Check("state", dir.File("many.pt"), dir.File("many.safetensors")));
        }
        finally
        {
            PyTorchWriterTests.DisposeAll(tensors);
        }
    }

    private static Tensor Small(int i, Generator g)
    {
        var t = randint(0, 100, [i % 3], dtype: ScalarType.Int8, generator: g);
        if (i % 2 == 0) return t;
        using (t) return t.gt(50);
    }
}
