using System.IO.Compression;
using System.IO.Hashing;
using System.Text;
using TorchSharp;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Checkpoints.PyTorch;
using ZipIt.Tests.Cli;
using static TorchSharp.torch;

namespace ZipIt.Tests.Checkpoints;

/// <summary>
/// torch.save files written by zipit (<see cref="CheckpointWriter.WritePyTorch"/>, <c>convert -o X.pt</c>):
/// read back by zipit's own reader, laid out as PyTorch lays them out, byte-deterministic, and
/// pickled as torch.save pickles. <see cref="PyTorchWriterTorchLoadTests"/> loads them with PyTorch itself.
/// </summary>
public sealed class PyTorchWriterTests
{
    /// <summary>Every dtype zipit writes, 0-dim scalars, empty tensors, more than three dimensions, a non-ASCII name, in an unsorted order.</summary>
    internal static List<KeyValuePair<string, Tensor>> EveryKind(int seed = 5)
    {
        var g = new Generator((ulong)seed);
        using var base_ = randn([3, 5], dtype: ScalarType.Float64, generator: g) * 100;
        var t = new List<KeyValuePair<string, Tensor>>
        {
            new("z.f32", base_.to_type(ScalarType.Float32)),
            new("a.f16", base_.to_type(ScalarType.Float16)),
            new("m.bf16", base_.to_type(ScalarType.BFloat16)),
            new("f64", base_.clone()),
            new("i64", base_.to_type(ScalarType.Int64)),
            new("i32", base_.to_type(ScalarType.Int32)),
            new("i16", base_.to_type(ScalarType.Int16)),
            new("i8", base_.clamp(-128, 127).to_type(ScalarType.Int8)),
            new("u8", base_.clamp(0, 255).to_type(ScalarType.Byte)),
            new("bool", base_.gt(0)),
            new("scalar.f32", tensor(1.5f)),
            new("scalar.i64 num_batches_tracked", tensor(12345678901L)),
            new("scalar.bool", tensor(true)),
            new("empty.f32", empty([0], ScalarType.Float32)),
            new("empty.f16.2x0x3", empty([2, 0, 3], ScalarType.Float16)),
            new("five.dims.bf16", randn([2, 1, 3, 1, 2], generator: g).to_type(ScalarType.BFloat16)),
            new("wide.u8", randint(0, 256, [7, 10001], dtype: ScalarType.Byte, generator: g)),
            new("ünï·code.😀", arange(4, dtype: ScalarType.Int32)),
        };
        return t;
    }

    internal static void DisposeAll(List<KeyValuePair<string, Tensor>> tensors)
    {
        foreach (var (_, t) in tensors) t.Dispose();
    }

    [Fact]
    public void Every_dtype_and_shape_reads_back_through_zipits_reader_in_the_order_given()
    {
        using var dir = new TempDirectory();
        var tensors = EveryKind();
        try
        {
            var path = dir.File("model.pt");
            CheckpointWriter.WritePyTorch(path, tensors);
            Assert.Equal(["model.pt"], dir.Names());

            using var read = Checkpoint.Open(path);
            Assert.Equal(CheckpointFormat.PyTorchZip, read.Format);
            Assert.Empty(read.Metadata);
            Assert.Empty(read.Notes);
            Assert.Equal(tensors.Select(t => t.Key), read.Entries.Select(e => e.Name));
            foreach (var (name, want) in tensors)
            {
                using var got = read.Read(name);
                CheckpointAssert.SameTensor(want, got);
            }
        }
        finally
        {
            DisposeAll(tensors);
        }
    }

    [Fact]
    public void Members_are_stored_on_64_byte_boundaries_with_their_crc_in_pytorchs_order()
    {
        using var dir = new TempDirectory();
        var tensors = EveryKind();
        try
        {
            var path = dir.File("model.pt");
            CheckpointWriter.WritePyTorch(path, tensors);

            using (var handle = File.OpenHandle(path))
            {
                var members = ZipDirectory.Read(handle, RandomAccess.GetLength(handle));
                foreach (var m in members.Values)
                {
                    Assert.Equal(0, m.Method);
                    Assert.True(m.DataOffset % 64 == 0, $"{m.Name} starts at byte {m.DataOffset}");
                }
            }

            // A third reader, .NET's own, agrees on the members, their bytes and their CRC-32s.
            using var zip = ZipFile.OpenRead(path);
            string[] expected =
            [
                "archive/data.pkl", "archive/.format_version", "archive/.storage_alignment", "archive/byteorder",
                .. tensors.Select((_, i) => $"archive/data/{i}"), "archive/version",
            ];
            Assert.Equal(expected, zip.Entries.Select(e => e.FullName));
            foreach (var entry in zip.Entries)
            {
                Assert.Equal(entry.Length, entry.CompressedLength);
                Assert.Equal(entry.Crc32, Crc32.HashToUInt32(Bytes(entry)));
            }
            Assert.Equal("1", Encoding.ASCII.GetString(Bytes(zip.GetEntry("archive/.format_version")!)));
            Assert.Equal("64", Encoding.ASCII.GetString(Bytes(zip.GetEntry("archive/.storage_alignment")!)));
            Assert.Equal("little", Encoding.ASCII.GetString(Bytes(zip.GetEntry("archive/byteorder")!)));
            Assert.Equal("3\n", Encoding.ASCII.GetString(Bytes(zip.GetEntry("archive/version")!)));
            for (var i = 0; i < tensors.Count; i++)
            {
                using var contiguous = tensors[i].Value.contiguous();
                Assert.Equal(contiguous.bytes.ToArray(), Bytes(zip.GetEntry($"archive/data/{i}")!));
            }
        }
        finally
        {
            DisposeAll(tensors);
        }
    }

    [Fact]
    public void The_same_tensors_give_the_same_bytes_whatever_the_file_is_called()
    {
        using var dir = new TempDirectory();
        var first = EveryKind(seed: 9);
        var second = EveryKind(seed: 9);
        try
        {
            CheckpointWriter.WritePyTorch(dir.File("a.pt"), first);
            Directory.CreateDirectory(dir.File("sub"));
            CheckpointWriter.WritePyTorch(dir.File("sub/other name.bin"), second);
            Assert.Equal(File.ReadAllBytes(dir.File("a.pt")), File.ReadAllBytes(dir.File("sub/other name.bin")));
        }
        finally
        {
            DisposeAll(first);
            DisposeAll(second);
        }
    }

    [Fact]
    public void Non_contiguous_tensors_are_written_contiguous()
    {
        using var dir = new TempDirectory();
        using var base_ = arange(24, dtype: ScalarType.Float32).reshape(4, 6);
        using var transposed = base_.t();
        using var strided = base_.index(TensorIndex.Colon, TensorIndex.Slice(1, null, 2));
        CheckpointWriter.WritePyTorch(dir.File("v.pt"), [new("t", transposed), new("s", strided)]);
        using var read = Checkpoint.Open(dir.File("v.pt"));
        using var t = read.Read("t");
        using var s = read.Read("s");
        CheckpointAssert.SameTensor(transposed, t);
        CheckpointAssert.SameTensor(strided, s);
    }

    [Theory]
    [InlineData("dtypes.pt")]
    [InlineData("cifar_resnet_111.pt")] // over 256 memo entries: LONG_BINPUT
    public void Converting_a_torch_save_file_gives_torch_saves_own_pickle_and_storages(string fixture)
    {
        // Both fixtures are OrderedDicts of tensors that each own a storage, written by PyTorch
        // 1.13: what zipit writes must be the very same pickle, byte for byte.
        using var dir = new TempDirectory();
        var result = Tool.Run("convert", PyTorchFixtures.Path(fixture), "-o", dir.File("out.pt"));
        Assert.True(result.ExitCode == 0, result.ToString());
        using var theirs = ZipFile.OpenRead(PyTorchFixtures.Path(fixture));
        using var ours = ZipFile.OpenRead(dir.File("out.pt"));
        var prefix = Path.GetFileNameWithoutExtension(fixture) + "/";
        Assert.Equal(Bytes(theirs.GetEntry(prefix + "data.pkl")!), Bytes(ours.GetEntry("archive/data.pkl")!));
        var storages = theirs.Entries.Where(e => e.FullName.StartsWith(prefix + "data/", StringComparison.Ordinal)).ToList();
        Assert.Equal(storages.Count, ours.Entries.Count(e => e.FullName.StartsWith("archive/data/", StringComparison.Ordinal)));
        foreach (var s in storages)
            Assert.Equal(Bytes(s), Bytes(ours.GetEntry("archive/data/" + s.FullName[(prefix.Length + 5)..])!));
    }

    [Fact]
    public void Pickle_ints_and_memo_indices_take_pythons_opcodes()
    {
        // Sizes past 255 and 65535 (BININT2, BININT), past 2^31 (LONG1), and a memo past 256 entries.
        var tensors = Enumerable.Range(0, 40).Select(i => new PyTorchWriter.Tensor($"t{i}", "F32", [1], 4, _ => { })).ToList();
        tensors.Add(new PyTorchWriter.Tensor("wide", "I8", [300, 70000], 21_000_000, _ => { }));
        tensors.Add(new PyTorchWriter.Tensor("huge", "I8", [3L << 31], 3L << 31, _ => { }));
        var pickle = PyTorchWriter.Pickle(tensors);

        Assert.Contains(Hex("4d 2c 01"), Hex(pickle)); // BININT2 300
        Assert.Contains(Hex("4a 70 11 01 00"), Hex(pickle)); // BININT 70000
        Assert.Contains(Hex("4a 40 6f 40 01"), Hex(pickle)); // BININT 21,000,000 elements
        Assert.Contains(Hex("8a 05 00 00 00 80 01"), Hex(pickle)); // LONG1 3·2^31, as Python's encode_long
        Assert.Contains(Hex("72 00 01 00 00"), Hex(pickle)); // LONG_BINPUT 256
        Assert.Contains(Hex("6a 47 01 00 00"), Hex(pickle)); // LONG_BINGET 327: CharStorage, memoized past 256, used again
        Assert.StartsWith(Hex("80 02 63"), Hex(pickle)); // PROTO 2, GLOBAL
        Assert.Equal((byte)'.', pickle[^1]);

        // And zipit's reader, which runs no code, reads it as the state dict it is.
        var policy = new TorchPicklePolicy(pid => new StorageRef((string)((object?[])pid!)[2]!, "I8", 0));
        var (root, end) = PickleMachine.Load(pickle, 0, policy);
        Assert.Equal(pickle.Length, end);
        var dict = Assert.IsType<PickleDict>(root);
        Assert.Equal(tensors.Select(t => (object?)t.Name), dict.Items.Select(kv => kv.Key));
        var huge = Assert.IsType<TensorRef>(dict.Items[^1].Value);
        Assert.Equal([3L << 31], huge.Shape);
        Assert.Equal([1L], huge.Stride);
        Assert.Equal([70000L, 1L], ((TensorRef)dict.Items[^2].Value!).Stride);
    }

    [Fact]
    public void Over_a_thousand_tensors_are_set_in_batches_of_a_thousand_as_python_does()
    {
        var tensors = Enumerable.Range(0, 2001).Select(i => new PyTorchWriter.Tensor($"t{i}", "F16", [], 2, _ => { })).ToList();
        var pickle = PyTorchWriter.Pickle(tensors);
        var policy = new TorchPicklePolicy(pid => new StorageRef((string)((object?[])pid!)[2]!, "F16", 1));
        var dict = Assert.IsType<PickleDict>(PickleMachine.Load(pickle, 0, policy).Value);
        Assert.Equal(2001, dict.Count);
        // MARK … SETITEMS twice, then the 2001st pair alone: SETITEM, then STOP (PythonTorch checks the bytes).
        Assert.Equal((byte)'s', pickle[^2]);
    }

    [Fact]
    public void A_tensor_name_that_utf8_cannot_encode_is_refused_naming_it()
    {
        using var dir = new TempDirectory();
        using var t = ones(2);
        var e = Assert.Throws<ArgumentException>(() => CheckpointWriter.WritePyTorch(dir.File("x.pt"), [new("bad\ud800", t)]));
        Assert.Contains("lone surrogate", e.Message);
        Assert.Empty(dir.Names());
    }

    // ---- convert ----------------------------------------------------------------------------------

    [Theory]
    [InlineData("out.pt")]
    [InlineData("out.pth")]
    [InlineData("pytorch_model.bin")]
    [InlineData("OUT.PT")]
    public void Convert_writes_a_torch_save_file_for_a_torch_extension(string name)
    {
        using var dir = new TempDirectory();
        var source = PyTorchFixtures.Path("tiny_resnet.safetensors");
        var result = Tool.Run("convert", source, "-o", dir.File(name), "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal([name], dir.Names());
        using var written = Checkpoint.Open(dir.File(name));
        using var expected = Checkpoint.Open(source);
        Assert.Equal(CheckpointFormat.PyTorchZip, written.Format);
        Assert.Equal(expected.Entries.Select(e => e.Name), written.Entries.Select(e => e.Name));
        foreach (var e in expected.Entries)
        {
            using var want = expected.Read(e.Name);
            using var got = written.Read(e.Name);
            CheckpointAssert.SameTensor(want, got);
        }
    }

    [Fact]
    public void Convert_to_pt_keeps_a_torch_save_inputs_key_order_and_takes_dtype()
    {
        using var dir = new TempDirectory();
        var source = PyTorchFixtures.Path("tiny_resnet.pt");
        var result = Tool.Run("convert", source, "-o", dir.File("half.pt"), "--dtype", "f16");
        Assert.True(result.ExitCode == 0, result.ToString());
        using var original = Checkpoint.Open(source);
        using var half = Checkpoint.Open(dir.File("half.pt"));
        Assert.Equal(original.Entries.Select(e => e.Name), half.Entries.Select(e => e.Name));
        foreach (var e in original.Entries)
        {
            using var want = original.Read(e.Name);
            using var cast = want.is_floating_point() ? want.to_type(ScalarType.Float16) : want.clone();
            using var got = half.Read(e.Name);
            CheckpointAssert.SameTensor(cast, got);
        }
    }

    [Fact]
    public void Convert_to_pt_leaves_metadata_out_and_says_so_at_normal_verbosity()
    {
        using var dir = new TempDirectory();
        var source = dir.File("with-metadata.safetensors");
        using (var w = ones(3))
            CheckpointWriter.WriteFile(source, [new("w", w)], new Dictionary<string, string> { ["config.architecture"] = "x", ["b"] = "y" });

        var quiet = Tool.Run("convert", source, "-o", dir.File("a.pt"));
        Assert.True(quiet.ExitCode == 0, quiet.ToString());
        Assert.Equal("", quiet.Error);

        var normal = Tool.Run("convert", source, "-o", dir.File("b.pt"), "-v", "n");
        Assert.True(normal.ExitCode == 0, normal.ToString());
        Assert.Contains("a torch.save state dict has no place for metadata; left out its 2 key(s): b, config.architecture", normal.Error);
        using var read = Checkpoint.Open(dir.File("b.pt"));
        Assert.Empty(read.Metadata);
        Assert.Equal(File.ReadAllBytes(dir.File("a.pt")), File.ReadAllBytes(dir.File("b.pt")));
    }

    [Theory]
    [InlineData("out.txt", "-o {0}: '.txt' is not a format convert writes")]
    [InlineData("out", "-o {0}: the file name has no extension")]
    [InlineData("out.pt.tmp", "-o {0}: '.tmp' is not a format convert writes")]
    [InlineData("out.", "-o {0}: the file name has no extension")]
    public void Any_other_output_extension_exits_2_naming_the_option_and_writes_nothing(string name, string mentions)
    {
        using var dir = new TempDirectory();
        var output = dir.File(name);
        var result = Tool.Run("convert", PyTorchFixtures.Path("tiny_resnet.pt"), "-o", output);
        Assert.Equal(2, result.ExitCode);
        ExitCodeTests.AssertOneErrorLine(result, string.Format(System.Globalization.CultureInfo.InvariantCulture, mentions, output));
        Assert.Contains(".safetensors", result.Error);
        Assert.Contains(".pt, .pth or .bin", result.Error);
        Assert.Empty(dir.Names());
    }

    [Fact]
    public void Shard_size_with_a_torch_save_output_exits_2_and_writes_nothing()
    {
        using var dir = new TempDirectory();
        var result = Tool.Run("convert", PyTorchFixtures.Path("tiny_resnet.pt"), "-o", dir.File("out.pt"), "--shard-size", "2KB");
        Assert.Equal(2, result.ExitCode);
        ExitCodeTests.AssertOneErrorLine(result, "--shard-size writes safetensors shards");
        Assert.Contains("torch.save", result.Error);
        Assert.Empty(dir.Names());
    }

    [Fact]
    public void Convert_to_pt_refuses_to_overwrite_its_input()
    {
        using var dir = new TempDirectory();
        var path = dir.File("model.pt");
        File.Copy(PyTorchFixtures.Path("tiny_resnet.pt"), path);
        var before = File.ReadAllBytes(path);
        var result = Tool.Run("convert", path, "-o", path);
        Assert.Equal(2, result.ExitCode);
        ExitCodeTests.AssertOneErrorLine(result, "would overwrite the input model.pt");
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(["model.pt"], dir.Names());
    }

    internal static byte[] Bytes(ZipArchiveEntry entry)
    {
        using var s = entry.Open();
        using var copy = new MemoryStream();
        s.CopyTo(copy);
        return copy.ToArray();
    }

    private static string Hex(string spaced) => spaced.Replace(" ", "", StringComparison.Ordinal);

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}
