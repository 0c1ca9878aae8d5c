using System.Buffers.Binary;
using System.Text;
using ZipIt.Engine.Checkpoints;
using Xunit.Abstractions;
using ZipIt.Engine.Core;

namespace ZipIt.Tests.Checkpoints;

/// <summary>Hand-made bad headers: each is a one-line exit-code-3 error that names the file.</summary>
public class SafetensorsCorruptionTests(ITestOutputHelper output)
{
    private const string FileName = "corrupt.safetensors";

    private static string Entry(string name, string dtype, string shape, long begin, long end) =>
        $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":[{begin},{end}]}}";

    private static readonly string Good = Entry("a", "F32", "[2]", 0, 8);

    /// <summary>label → (header JSON, data bytes, expected message fragments).</summary>
    public static TheoryData<string, string, int, string> BadHeaders => new()
    {
        { "not JSON", "{\"a\": nope}", 0, "not valid JSON" },
        { "truncated JSON", "{\"a\":{\"dtype\":\"F32\"", 0, "not valid JSON" },
        { "empty header", "", 0, "not valid JSON" },
        { "array, not object", "[1, 2]", 0, "not a JSON object" },
        { "string, not object", "\"hello\"", 0, "not a JSON object" },
        { "data after object", "{" + Good + "} {}", 8, "not valid JSON" },
        { "comment", "{/* c */" + Good + "}", 8, "not valid JSON" },
        { "lone surrogate escape", "{\"\\ud800\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "not valid JSON" },
        { "metadata is a string", "{\"__metadata__\":\"x\"," + Good + "}", 8, "__metadata__ must be a JSON object" },
        { "metadata value is a number", "{\"__metadata__\":{\"k\":1}," + Good + "}", 8, "only strings" },
        { "metadata value is nested", "{\"__metadata__\":{\"k\":{\"x\":\"y\"}}," + Good + "}", 8, "only strings" },
        { "metadata duplicate key", "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}," + Good + "}", 8, "duplicate key 'k'" },
        { "duplicate tensor", "{" + Good + "," + Entry("a", "F32", "[2]", 8, 16) + "}", 16, "duplicate key 'a'" },
        { "duplicate __metadata__", "{\"__metadata__\":{},\"__metadata__\":{}}", 0, "duplicate key '__metadata__'" },
        { "duplicate field", "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "duplicate field 'dtype'" },
        { "entry is a number", "{\"a\":3}", 0, "not an object" },
        { "missing dtype", "{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "no dtype" },
        { "missing shape", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "no shape" },
        { "missing data_offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "no data_offsets" },
        { "dtype is a number", "{\"a\":{\"dtype\":5,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "dtype is a JSON number" },
        { "shape is a string", "{\"a\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}}", 8, "shape is a JSON string" },
        { "shape has a fraction", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8, "not an integer" },
        { "shape has a string", "{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8, "only integers" },
        { "data_offsets has one number", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8]}}", 8, "[begin, end]" },
        { "data_offsets is an object", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":{}}}", 8, "data_offsets is a JSON object" },
        { "negative dimension", "{" + Entry("a", "F32", "[-2]", 0, 8) + "}", 8, "negative dimension -2" },
        { "negative offsets", "{" + Entry("a", "F32", "[2]", -8, 0) + "}", 8, "negative data_offsets" },
        { "unknown dtype", "{" + Entry("a", "F33", "[2]", 0, 8) + "}", 8, "unknown dtype 'F33'" },
        { "lower-case dtype", "{" + Entry("a", "f32", "[2]", 0, 8) + "}", 8, "unknown dtype 'f32'" },
        { "begin after end", "{" + Entry("a", "F32", "[2]", 8, 0) + "}", 8, "begin is after end" },
        { "size mismatch", "{" + Entry("a", "F32", "[3]", 0, 8) + "}", 8, "needs 12" },
        { "size overflow", "{" + Entry("a", "F32", "[4611686018427387904,4]", 0, 8) + "}", 8, "too large" },
        { "offset past the buffer", "{" + Entry("a", "F32", "[2]", 0, 8) + "}", 4, "past the end of the data buffer" },
        { "overlap", "{" + Good + "," + Entry("b", "F32", "[2]", 4, 12) + "}", 12, "overlap" },
        { "overlap with an empty tensor inside", "{" + Good + "," + Entry("e", "F32", "[0]", 4, 4) + "}", 8, "overlap" },
        { "gap", "{" + Good + "," + Entry("b", "F32", "[2]", 12, 20) + "}", 20, "gap" },
        { "gap at the start", "{" + Entry("a", "F32", "[2]", 4, 12) + "}", 12, "gap" },
        { "trailing bytes", "{" + Good + "}", 12, "trailing bytes" },
        { "trailing bytes, no tensors", "{}", 4, "trailing bytes" },
    };

    [Theory]
    [MemberData(nameof(BadHeaders))]
    public void BadHeader_IsOneLineInputError(string label, string header, int dataBytes, string fragment)
    {
        _ = label;
        using var dir = new TempDirectory();
        var path = dir.File(FileName);
        File.WriteAllBytes(path, RawSafetensors.Build(header, dataBytes));
        output.WriteLine(CheckpointAssert.InputError(() => SafetensorsFile.Open(path).Dispose(), FileName, fragment));
        CheckpointAssert.InputError(() => Checkpoint.Open(path).Dispose(), FileName, fragment);
    }

    [Theory]
    [InlineData("U16")]
    [InlineData("U32")]
    [InlineData("U64")]
    [InlineData("C64")]
    [InlineData("F8_E5M2")]
    [InlineData("F8_E4M3")]
    [InlineData("F8_E8M0")]
    [InlineData("F8_E4M3FNUZ")]
    [InlineData("F8_E5M2FNUZ")]
    [InlineData("F4")]
    [InlineData("F6_E2M3")]
    [InlineData("F6_E3M2")]
    public void UnsupportedDtype_NamesTensorAndFile(string dtype)
    {
        using var dir = new TempDirectory();
        var path = dir.File(FileName);
        File.WriteAllBytes(path, RawSafetensors.Build("{" + Entry("layer.w", dtype, "[1]", 0, 8) + "}", 8));
        output.WriteLine(CheckpointAssert.InputError(() => SafetensorsFile.Open(path).Dispose(), FileName, "'layer.w'", dtype, "does not support"));
        Assert.True(SafetensorsDType.IsKnown(dtype));
        Assert.False(SafetensorsDType.IsSupported(dtype));
    }

    [Fact]
    public void FileShorterThan8Bytes()
    {
        using var dir = new TempDirectory();
        var path = dir.File(FileName);
        File.WriteAllBytes(path, [1, 0, 0, 0, 0]);
        CheckpointAssert.InputError(() => SafetensorsFile.Open(path).Dispose(), FileName, "5 bytes", "shorter than");
    }

    [Fact]
    public void HeaderLengthOverTheCap()
    {
        using var dir = new TempDirectory();
        var path = dir.File(FileName);
        var bytes = new byte[64];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 100_000_001);
        File.WriteAllBytes(path, bytes);
        CheckpointAssert.InputError(() => SafetensorsFile.Open(path).Dispose(), FileName, "100000001", "100,000,000-byte limit");
    }

    [Fact]
    public void HeaderLengthHuge_NoOverflow()
    {
        using var dir = new TempDirectory();
        var path = dir.File(FileName);
        File.WriteAllBytes(path, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, (byte)'{', (byte)'}']);
        CheckpointAssert.InputError(() => SafetensorsFile.Open(path).Dispose(), FileName, "limit");
    }

    [Fact]
    public void HeaderLengthPastTheEnd()
    {
        using var dir = new TempDirectory();
        var path = dir.File(FileName);
        var bytes = RawSafetensors.Build("{}", 0);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 3); // 8 + 3 > 10
        File.WriteAllBytes(path, bytes);
        CheckpointAssert.InputError(() => SafetensorsFile.Open(path).Dispose(), FileName, "header length 3 runs past the end", "10 bytes");
    }

    [Fact]
    public void HeaderNotUtf8()
    {
        using var dir = new TempDirectory();
        var path = dir.File(FileName);
        var header = Encoding.UTF8.GetBytes("{\"a?\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}");
        header[3] = 0xff;
        File.WriteAllBytes(path, RawSafetensors.Build(header, new byte[8]));
        CheckpointAssert.InputError(() => SafetensorsFile.Open(path).Dispose(), FileName, "not valid UTF-8");
    }

    [Fact]
    public void ControlCharactersInNames_StayOnOneLine()
    {
        using var dir = new TempDirectory();
        var path = dir.File(FileName);
        File.WriteAllBytes(path, RawSafetensors.Build("{" + Entry("bad\\nname\\u2028", "F33", "[2]", 0, 8) + "}", 8));
        CheckpointAssert.InputError(() => SafetensorsFile.Open(path).Dispose(), FileName, "'bad\\nname\\u2028'");
    }

    [Fact]
    public void Whitespace_NullMetadata_UnknownFields_AreAccepted()
    {
        using var dir = new TempDirectory();
        var path = dir.File("ok.safetensors");
        var header = " \t\r\n{\"__metadata__\":null,\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":[1,{}]}," +
                     Entry("s", "I64", "[]", 8, 16) + "," + Entry("e", "BF16", "[3,0]", 16, 16) + "}\n     ";
        var data = new byte[16];
        BinaryPrimitives.WriteSingleLittleEndian(data, 1.5f);
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4), -2f);
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(8), -7);
        File.WriteAllBytes(path, RawSafetensors.Build(Encoding.UTF8.GetBytes(header), data));

        using var file = SafetensorsFile.Open(path);
        Assert.Empty(file.Metadata);
        Assert.Equal(["a", "s", "e"], file.Entries.Select(e => e.Name));
        using var a = file.Read("a");
        Assert.Equal([1.5f, -2f], a.data<float>().ToArray());
        using var s = file.Read("s");
        Assert.Equal(0, s.dim());
        Assert.Equal(-7L, s.item<long>());
        using var e = file.Read("e");
        Assert.Equal([3L, 0], e.shape);
        Assert.Equal(TorchSharp.torch.ScalarType.BFloat16, e.dtype);
    }

    [Fact]
    public void EmptyHeaderObject_IsAnEmptyFile()
    {
        using var dir = new TempDirectory();
        var path = dir.File("empty.safetensors");
        File.WriteAllBytes(path, RawSafetensors.Build("{}      ", 0));
        using var file = SafetensorsFile.Open(path);
        Assert.Empty(file.Entries);
        Assert.Empty(file.Metadata);
    }

    [Fact]
    public void MissingPath_IsFileNotFound()
    {
        using var dir = new TempDirectory();
        var path = dir.File("absent.safetensors");
        CheckpointAssert.InputError(() => Checkpoint.Open(path).Dispose(), "absent.safetensors", "file not found");
        CheckpointAssert.InputError(() => SafetensorsFile.Open(path).Dispose(), "absent.safetensors", "file not found");
        CheckpointAssert.InputError(() => Checkpoint.Open(dir.File("absent.safetensors.index.json")).Dispose(), "absent.safetensors.index.json", "file not found");
    }

    [Fact]
    public void DirectoryWithoutCheckpoint()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<ZipItException>(() => Checkpoint.Open(dir.Path));
        Assert.Equal(ExitCode.Input, e.Code);
        Assert.Contains(dir.Path, e.Message);
        Assert.Contains("none of model.safetensors, model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json", e.Message);
    }
}
