using System.Numerics;
using System.Text.Json;
using ZipIt.Engine.Checkpoints;

namespace ZipIt.Tests.Checkpoints;

/// <summary>
/// Tensors of 2³¹ elements and more, whose sizes Python pickles as LONG1, read as real checkpoints;
/// sizes no file could hold are refused naming them. The storages are holes in sparse files.
/// </summary>
public sealed class PyTorchLargeTensorTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A state dict {'w': FloatStorage of <paramref name="numel"/> elements viewed as <paramref name="shape"/>}.</summary>
    private static byte[] StateDict(BigInteger numel, params BigInteger[] shape)
    {
        var p = new PickleBuilder()
            .Global("collections", "OrderedDict").Op(')').Op('R')
            .Str("w").Global("torch._utils", "_rebuild_tensor_v2")
            .Op('(').Op('(').Str("storage").Global("torch", "FloatStorage").Str("0").Str("cpu").Long(numel).Op('t').Op('Q')
            .Int(0).Op('(');
        foreach (var d in shape) p.Long(d);
        p.Op('t').Op('(');
        var stride = BigInteger.One;
        var strides = new List<BigInteger>();
        for (var i = shape.Length - 1; i >= 0; i--) { strides.Insert(0, stride); stride *= shape[i]; }
        foreach (var s in strides) p.Long(s);
        return p.Op('t').Byte(0x89).Global("collections", "OrderedDict").Op(')').Op('R').Op('t').Op('R').Op('s').Stop();
    }

    [Fact]
    public void An_8_GiB_float32_tensor_of_2_pow_31_elements_reads_with_its_real_shape()
    {
        var path = _dir.File("big.pt");
        const long numel = 1L << 31;
        SparseZip.Write(path, StateDict(numel, numel), ("0", numel * 4));
        using (var file = Checkpoint.Open(path))
        {
            var entry = Assert.Single(file.Entries);
            Assert.Equal([numel], entry.Shape);
            Assert.Equal("F32", entry.DType);
            Assert.Equal(numel * 4, entry.ByteLength);
        }
        var inspect = Tool.Run("inspect", path, "--json");
        Assert.True(inspect.ExitCode == 0, inspect.ToString());
        Assert.Contains("2147483648", inspect.Out);
    }

    [Fact]
    public void A_large_storage_viewed_in_two_dimensions_reads()
    {
        var path = _dir.File("wide.pt");
        SparseZip.Write(path, StateDict(3L << 30, 3L << 15, 1L << 15), ("0", (3L << 30) * 4));
        using var file = Checkpoint.Open(path);
        Assert.Equal([3L << 15, 1L << 15], Assert.Single(file.Entries).Shape);
    }

    [Theory]
    [InlineData("1180591620717411303424", "1180591620717411303424")]  // 2^70: past any 64-bit count
    [InlineData("4611686018427387904", "4611686018427387904")]        // 2^62 elements: 2^64 bytes, past any file
    public void A_storage_no_file_could_hold_is_refused_naming_its_size(string numel, string named)
    {
        var path = _dir.File("huge.pt");
        var n = BigInteger.Parse(numel);
        SparseZip.Write(path, StateDict(n, n), ("0", 16));
        CheckpointAssert.InputError(() => Checkpoint.Open(path).Dispose(), "huge.pt", named);
        var inspect = Tool.Run("inspect", path);
        Assert.True(inspect.ExitCode == 3, inspect.ToString());
        Assert.Contains(named, inspect.Error);
        Assert.DoesNotContain("persistent id", inspect.Error);
    }

    [Fact]
    public void A_shape_past_64_bits_is_refused_naming_it()
    {
        var path = _dir.File("shape.pt");
        SparseZip.Write(path, StateDict(4, BigInteger.Pow(2, 70)), ("0", 16));
        CheckpointAssert.InputError(() => Checkpoint.Open(path).Dispose(), "shape.pt", "1180591620717411303424");
    }
}
