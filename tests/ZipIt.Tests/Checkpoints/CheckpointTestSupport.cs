using System.Buffers.Binary;
using System.Text;
using TorchSharp;
using ZipIt.Cli;
using static TorchSharp.torch;

namespace ZipIt.Tests.Checkpoints;

/// <summary>The shared fixtures, found from the repository root (the folder holding ZipIt.sln).</summary>
internal static class Fixtures
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "ZipIt.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"no ZipIt.sln above {AppContext.BaseDirectory}");
    });

    public static string RepoRoot => Root.Value;

    /// <summary>A fixture file, e.g. <c>Fixtures.File("parity", "io.safetensors")</c>.</summary>
    public static string File(string folder, string name)
    {
        var path = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "fixtures", folder, name));
        Assert.True(System.IO.File.Exists(path), $"fixture missing: {path}");
        return path;
    }
}

/// <summary>A fresh folder under the system temp folder, deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "zipit-ckpt-" + Guid.NewGuid().ToString("N")));

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Every file name in the folder (hidden temp files included), sorted.</summary>
    public string[] Names() => Directory.EnumerateFileSystemEntries(Path).Select(System.IO.Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

internal static class CheckpointAssert
{
    /// <summary>Same dtype, same shape, bit-identical bytes.</summary>
    public static void SameTensor(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.dtype, actual.dtype);
        Assert.Equal(expected.shape, actual.shape);
        Assert.Equal(DeviceType.CPU, actual.device_type);
        Assert.True(actual.is_contiguous());
        using var e = expected.contiguous();
        Assert.True(e.bytes.SequenceEqual(actual.bytes), "tensor bytes differ");
    }

    /// <summary>The action fails with a one-line exit-code-3 error naming <paramref name="fileName"/>; returns the message.</summary>
    public static string InputError(Action action, string fileName, params string[] fragments)
    {
        var e = Assert.Throws<ZipItException>(action);
        Assert.Equal(ExitCode.Input, e.Code);
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain('\r', e.Message);
        Assert.Contains(fileName, e.Message);
        foreach (var f in fragments) Assert.Contains(f, e.Message, StringComparison.OrdinalIgnoreCase);
        return e.Message;
    }
}

/// <summary>Hand-made safetensors bytes, for corrupt-header tests.</summary>
internal static class RawSafetensors
{
    public static byte[] Build(string headerJson, int dataBytes) => Build(Encoding.UTF8.GetBytes(headerJson), new byte[dataBytes]);

    public static byte[] Build(byte[] header, byte[] data)
    {
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }
}
