using System.Text.Json;
using TorchSharp;
using ZipIt.Engine.Checkpoints;
using static TorchSharp.torch;

namespace ZipIt.Tests.Checkpoints;

/// <summary>CheckpointWriter → SafetensorsFile / Checkpoint round trips.</summary>
public class CheckpointRoundTripTests
{
    /// <summary>One tensor per supported dtype, with awkward values, a scalar, an empty and a non-contiguous tensor.</summary>
    private static Dictionary<string, Tensor> Sample()
    {
        var g = new Generator(1234);
        var f32 = torch.randn([3, 5], generator: g);
        return new Dictionary<string, Tensor>
        {
            ["f32"] = f32,
            ["f32.special"] = torch.tensor(new[] { float.PositiveInfinity, float.NegativeInfinity, -0.0f, float.Epsilon, float.MaxValue, float.NaN }),
            ["f64"] = torch.randn([2, 2, 2], dtype: ScalarType.Float64, generator: g),
            ["f16"] = (torch.randn([7], generator: g) * 100).to_type(ScalarType.Float16),
            ["bf16"] = (torch.randn([4, 3], generator: g) * 1e6).to_type(ScalarType.BFloat16),
            ["i64"] = torch.tensor(new[] { long.MinValue, -1L, 0L, long.MaxValue }),
            ["i32"] = torch.tensor(new[] { int.MinValue, 7, int.MaxValue }),
            ["i16"] = torch.tensor(new short[] { short.MinValue, -2, short.MaxValue }),
            ["i8"] = torch.tensor(new sbyte[] { sbyte.MinValue, -1, sbyte.MaxValue }),
            ["u8"] = torch.tensor(new byte[] { 0, 1, 128, 255 }),
            ["bool"] = torch.tensor(new[] { true, false, true }),
            ["scalar.i64"] = torch.tensor(42L),
            ["scalar.f32"] = torch.tensor(-1.5f),
            ["empty"] = torch.zeros([0, 4]),
            ["empty.1d.i32"] = torch.zeros([0], dtype: ScalarType.Int32),
            ["transposed"] = f32.t(),                 // non-contiguous
            ["row"] = f32[1],                         // contiguous view with a storage offset
            ["strided"] = torch.arange(20, dtype: ScalarType.Int16).reshape(4, 5)[.., 1..4], // non-contiguous slice
        };
    }

    private static void DisposeAll(IEnumerable<Tensor> tensors)
    {
        foreach (var t in tensors) t.Dispose();
    }

    [Fact]
    public void WriteFile_ReadBack_EveryDtypeExactly()
    {
        using var dir = new TempDirectory();
        var tensors = Sample();
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode \"quoted\" + <tag>", ["empty"] = "" };
        try
        {
            var path = dir.File("all.safetensors");
            CheckpointWriter.WriteFile(path, tensors, metadata);
            Assert.Equal(["all.safetensors"], dir.Names());

            using var file = SafetensorsFile.Open(path);
            Assert.Equal(metadata, file.Metadata);
            Assert.Equal(tensors.Keys.Order(StringComparer.Ordinal), file.Entries.Select(e => e.Name)); // data in name order
            Assert.Equal(0, file.DataStart % 8);
            Assert.Equal(["BOOL", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8"],
                new[] { "bool", "f16", "bf16", "f64", "i64", "i32", "i16", "i8", "u8" }.Select(n => file.GetEntry(n).DType));
            Assert.Empty(file.GetEntry("scalar.i64").Shape);
            Assert.Equal(0, file.GetEntry("empty").ByteLength);

            foreach (var (name, expected) in tensors)
            {
                using var actual = file.Read(name);
                CheckpointAssert.SameTensor(expected, actual);
                if (name != "f32.special") Assert.True(expected.Equals(actual), name);
            }
            using (var s = file.Read("scalar.i64")) Assert.Equal(42L, s.item<long>());
            using (var b = file.Read("bf16")) Assert.True(b.to_type(ScalarType.Float32).allclose(tensors["bf16"].to_type(ScalarType.Float32)));
        }
        finally
        {
            DisposeAll(tensors.Values);
        }
    }

    [Fact]
    public void WriteFile_HeaderLayout_IsCanonical()
    {
        using var dir = new TempDirectory();
        using var a = torch.ones(3);
        using var b = torch.zeros([2], dtype: ScalarType.Int64);
        var path = dir.File("h.safetensors");
        CheckpointWriter.WriteFile(path, [new("b", b), new("a", a)], new Dictionary<string, string> { ["z"] = "1", ["format"] = "pt" });

        var bytes = File.ReadAllBytes(path);
        var n = (int)BitConverter.ToUInt64(bytes, 0);
        Assert.Equal(0, n % 8);
        var header = System.Text.Encoding.UTF8.GetString(bytes, 8, n);
        Assert.Equal(
            """{"__metadata__":{"format":"pt","z":"1"},"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"b":{"dtype":"I64","shape":[2],"data_offsets":[12,28]}}""",
            header.TrimEnd(' '));
        Assert.Equal(bytes.Length, 8 + n + 28);
        Assert.Equal(1.0f, BitConverter.ToSingle(bytes, 8 + n));
    }

    [Fact]
    public void WriteFile_NoMetadata_OmitsMetadataKey()
    {
        using var dir = new TempDirectory();
        using var t = torch.ones(2);
        var path = dir.File("x.safetensors");
        CheckpointWriter.WriteFile(path, [new("t", t)], null);
        Assert.DoesNotContain("__metadata__", File.ReadAllText(path));
        using var file = SafetensorsFile.Open(path);
        Assert.Empty(file.Metadata);
    }

    [Fact]
    public void WriteFile_Twice_IsByteIdentical()
    {
        using var dir = new TempDirectory();
        var tensors = Sample();
        try
        {
            var md = new Dictionary<string, string> { ["b"] = "2", ["a"] = "1" };
            CheckpointWriter.WriteFile(dir.File("1.safetensors"), tensors, md);
            // Same content, other insertion order.
            CheckpointWriter.WriteFile(dir.File("2.safetensors"), tensors.Reverse(), md.Reverse().ToDictionary());
            Assert.Equal(File.ReadAllBytes(dir.File("1.safetensors")), File.ReadAllBytes(dir.File("2.safetensors")));
        }
        finally
        {
            DisposeAll(tensors.Values);
        }
    }

    [Fact]
    public void WriteFile_Overwrites_ExistingTarget()
    {
        using var dir = new TempDirectory();
        var path = dir.File("m.safetensors");
        File.WriteAllText(path, "old");
        using var t = torch.arange(5);
        CheckpointWriter.WriteFile(path, [new("t", t)], null);
        using var ckpt = Checkpoint.Open(path);
        using var back = ckpt.Read("t");
        CheckpointAssert.SameTensor(t, back);
        Assert.Equal(["m.safetensors"], dir.Names());
    }

    [Fact]
    public void ChunkedRead_FillsTheWholeTensor()
    {
        using var dir = new TempDirectory();
        using var t = torch.arange(1000, dtype: ScalarType.Int32).reshape(10, 100);
        var path = dir.File("c.safetensors");
        CheckpointWriter.WriteFile(path, [new("t", t)], null);
        using var file = SafetensorsFile.Open(path);
        using var back = file.Read(file.GetEntry("t"), chunkBytes: 28); // 7 elements a chunk, last chunk short
        CheckpointAssert.SameTensor(t, back);
    }

    [Fact]
    public void WriteSharded_ReadBack_ThroughDirectoryAndIndex()
    {
        using var dir = new TempDirectory();
        var tensors = Sample();
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["merged_by"] = "zipit" };
        try
        {
            var outDir = Path.Combine(dir.Path, "out"); // created by the writer
            var written = CheckpointWriter.WriteSharded(outDir, tensors, metadata, maxShardBytes: 64);
            var totalBytes = tensors.Values.Sum(t => t.NumberOfElements * t.ElementSize);

            var names = Directory.GetFiles(outDir).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray();
            var shards = names.Where(n => n.EndsWith(".safetensors", StringComparison.Ordinal)).ToArray();
            Assert.True(shards.Length >= 3, $"expected several shards, got {shards.Length}");
            Assert.Equal(shards.Select((_, i) => $"model-{i + 1:D5}-of-{shards.Length:D5}.safetensors"), shards);
            Assert.Equal([.. shards, Checkpoint.IndexFileName], names);
            Assert.Equal(names.Select(n => Path.Combine(outDir, n)), written);

            using (var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(outDir, Checkpoint.IndexFileName))))
            {
                var md = json.RootElement.GetProperty("metadata");
                Assert.Equal(totalBytes, md.GetProperty("total_size").GetInt64());
                Assert.Equal("zipit", md.GetProperty("merged_by").GetString());
                var map = json.RootElement.GetProperty("weight_map").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
                Assert.Equal(tensors.Keys.Order(StringComparer.Ordinal), map.Keys);
                Assert.Equal(shards, map.Values.Distinct().Order(StringComparer.Ordinal));
            }
            foreach (var shard in shards)
            {
                using var f = SafetensorsFile.Open(Path.Combine(outDir, shard));
                Assert.Equal(metadata, f.Metadata);
                Assert.True(f.Entries.Count == 1 || f.Entries.Sum(e => e.ByteLength) <= 64);
            }

            foreach (var open in new[] { outDir, Path.Combine(outDir, Checkpoint.IndexFileName) })
            {
                using var ckpt = Checkpoint.Open(open);
                Assert.True(ckpt.IsSharded);
                Assert.Equal(Path.Combine(outDir, Checkpoint.IndexFileName), ckpt.Path);
                Assert.Equal(shards.Select(s => Path.Combine(outDir, s)), ckpt.Files);
                Assert.Equal(metadata, ckpt.Metadata);
                Assert.Equal(tensors.Count, ckpt.Entries.Count);
                Assert.True(ckpt.Contains("bf16"));
                Assert.False(ckpt.Contains("missing"));
                Assert.Contains(ckpt.GetEntry("f32").FilePath, ckpt.Files);
                var all = ckpt.ReadAll();
                try
                {
                    Assert.Equal(tensors.Keys.Order(StringComparer.Ordinal), all.Keys);
                    foreach (var (name, t) in tensors) CheckpointAssert.SameTensor(t, all[name]);
                }
                finally
                {
                    DisposeAll(all.Values);
                }
                CheckpointAssert.InputError(() => ckpt.Read("missing"), Checkpoint.IndexFileName, "'missing'");
            }

            // Deterministic: a second write gives the same bytes, file by file.
            var again = Path.Combine(dir.Path, "again");
            CheckpointWriter.WriteSharded(again, tensors, metadata, 64);
            foreach (var n in names) Assert.Equal(File.ReadAllBytes(Path.Combine(outDir, n)), File.ReadAllBytes(Path.Combine(again, n)));
        }
        finally
        {
            DisposeAll(tensors.Values);
        }
    }

    [Fact]
    public void WriteSharded_OneShard_WhenEverythingFits()
    {
        using var dir = new TempDirectory();
        using var a = torch.ones(4);
        using var b = torch.ones(4);
        CheckpointWriter.WriteSharded(dir.Path, [new("a", a), new("b", b)], null, maxShardBytes: 1 << 20);
        Assert.Equal(["model-00001-of-00001.safetensors", Checkpoint.IndexFileName], dir.Names());
        using var ckpt = Checkpoint.Open(dir.Path);
        Assert.Empty(ckpt.Metadata); // total_size is a number, so not metadata
        Assert.Equal(["a", "b"], ckpt.Entries.Select(e => e.Name));
    }

    [Fact]
    public void Open_Directory_PrefersSingleFile()
    {
        using var dir = new TempDirectory();
        using var a = torch.ones(2);
        CheckpointWriter.WriteSharded(dir.Path, [new("sharded", a)], null, 1 << 20);
        CheckpointWriter.WriteFile(dir.File(Checkpoint.SingleFileName), [new("single", a)], new Dictionary<string, string> { ["k"] = "v" });
        using var ckpt = Checkpoint.Open(dir.Path);
        Assert.False(ckpt.IsSharded);
        Assert.Equal(dir.File(Checkpoint.SingleFileName), ckpt.Path);
        Assert.Equal(["single"], ckpt.Entries.Select(e => e.Name));
        Assert.Equal("v", ckpt.Metadata["k"]);
    }
}
