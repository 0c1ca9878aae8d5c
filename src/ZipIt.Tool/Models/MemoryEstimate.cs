using ZipIt.Runtime;
using System.Globalization;
using TorchSharp;
using ZipIt.Core;
using static TorchSharp.torch;

namespace ZipIt.Models;

/// <summary>
/// What a model configuration needs in memory, known before any weight is allocated: the module is
/// built on PyTorch's <c>meta</c> device (shapes without storage) and its state counted.
/// </summary>
internal static class MemoryEstimate
{
    /// <summary>Bytes of the state dict of <paramref name="config"/>, or null when the architecture cannot be built on the meta device.</summary>
    public static long? StateBytes(IArchitecture architecture, ArchitectureConfig config)
    {
        TorchRuntime.Initialize();
        try
        {
            torch.set_default_device(torch.META);
            using var model = architecture.Create(config);
            return model.state_dict().Values.Sum(t => t.NumberOfElements * t.ElementSize);
        }
        catch (Exception e) when (e is ArgumentException or System.Runtime.InteropServices.ExternalException or NotSupportedException or InvalidOperationException)
        {
            return null;
        }
        finally
        {
            torch.set_default_device(torch.CPU);
        }
    }

    /// <summary>Exit 5 with the estimate when <paramref name="bytes"/> exceed what the machine has available.</summary>
    public static void RequireAvailable(long bytes, string what)
    {
        if (AvailableBytes() is { } available && bytes > available)
            throw ZipItException.Resource($"{what} needs about {Bytes(bytes)} of memory; this machine has {Bytes(available)} available");
    }

    /// <summary>MemAvailable from /proc/meminfo (Linux), else the GC's view of the machine's memory.</summary>
    public static long? AvailableBytes()
    {
        try
        {
            if (File.Exists("/proc/meminfo"))
                foreach (var line in File.ReadLines("/proc/meminfo"))
                    if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException) { }
        var total = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        return total > 0 ? total : null;
    }

    public static string Bytes(long bytes)
    {
        string[] units = ["B", "KB", "MB", "GB", "TB", "PB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1000 && unit < units.Length - 1) { value /= 1000; unit++; }
        return string.Create(CultureInfo.InvariantCulture, $"{value:0.#} {units[unit]}");
    }
}
