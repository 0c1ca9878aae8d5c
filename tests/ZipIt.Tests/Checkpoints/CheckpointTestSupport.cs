using System.Buffers.Binary;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;
using ZipIt.Engine.Core;

namespace ZipIt.Tests.Checkpoints;

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
