using ZipIt.Engine.Runtime;
using System.Globalization;
using TorchSharp;
using ZipIt.Engine.Core;
using ZipIt.Engine.Output;
using static TorchSharp.torch;

namespace ZipIt.Engine.Models;

/// <summary>
/// What a model configuration needs in memory, known before any weight is allocated: the module is
/// built on PyTorch's <c>meta</c> device (shapes without storage) and its state counted.
/// </summary>
internal static class MemoryEstimate
{
    /// <summary>
    /// Resident memory of the tool before it loads anything: the .NET runtime, libtorch's CPU
    /// libraries and the plugins (peak RSS of <c>inspect</c> on a ResNet-20, measured with
    /// <c>/usr/bin/time -v</c>).
    /// </summary>
    public const long RuntimeBytes = 350L << 20;

    /// <summary>Bytes of the state dict of <paramref name="config"/>, or null when the architecture cannot be built on the meta device.</summary>
    public static long? StateBytes(IArchitecture architecture, ArchitectureConfig config)
    {
        TorchRuntime.Initialize();
        try
        {
            torch.set_default_device(torch.META);
            using var model = architecture.Create(config);
            return Bytes(model);
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

    /// <summary>Bytes of <paramref name="model"/>'s state dict.</summary>
    public static long Bytes(nn.Module model) => model.state_dict().Values.Sum(t => t.NumberOfElements * t.ElementSize);

    /// <summary>
    /// Exit 5 with the estimate when <paramref name="bytes"/> exceed <paramref name="limit"/>
    /// (<c>--max-memory</c>) or, without one, the memory this machine has available.
    /// </summary>
    public static void RequireAvailable(long bytes, string what, long? limit = null)
    {
        if (limit is { } max)
        {
            if (bytes > max)
                throw ZipItException.Resource($"{what} needs about {Format.Bytes(bytes)} of memory (estimated); --max-memory is {Format.Bytes(max)}");
        }
        else if (AvailableBytes() is { } available && bytes > available)
            throw ZipItException.Resource($"{what} needs about {Format.Bytes(bytes)} of memory (estimated); this machine has {Format.Bytes(available)} available (--max-memory to set the limit)");
    }

    /// <summary>
    /// The smaller of MemAvailable (/proc/meminfo) and what the process's cgroup still allows
    /// (v2 <c>memory.max</c> − <c>memory.current</c>, v1 <c>limit_in_bytes</c> − <c>usage_in_bytes</c>);
    /// off Linux, the GC's view of the machine's memory.
    /// </summary>
    public static long? AvailableBytes()
    {
        long? available = null;
        try
        {
            if (File.Exists("/proc/meminfo"))
                foreach (var line in File.ReadLines("/proc/meminfo"))
                    if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                        available = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            var cgroup = Remaining("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current")
                ?? Remaining("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes");
            if (cgroup is { } c && (available is null || c < available)) available = c;
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException or OverflowException) { }
        if (available is not null) return available;
        var total = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        return total > 0 ? total : null;
    }

    // "max" (v2) or a v1 limit near 2⁶³ means no limit.
    private static long? Remaining(string limitFile, string usageFile)
    {
        if (!File.Exists(limitFile) || !File.Exists(usageFile)) return null;
        var limit = File.ReadAllText(limitFile).Trim();
        if (limit == "max" || !long.TryParse(limit, NumberStyles.Integer, CultureInfo.InvariantCulture, out var max) || max >= long.MaxValue / 2) return null;
        return Math.Max(0, max - long.Parse(File.ReadAllText(usageFile).Trim(), CultureInfo.InvariantCulture));
    }
}
