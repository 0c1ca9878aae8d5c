using TorchSharp;
using ZipIt.Engine.Checkpoints;
using static TorchSharp.torch;

namespace ZipIt.Tests.Checkpoints;

/// <summary>torch.save files written by PyTorch read to the same tensors as their safetensors twins.</summary>
public sealed class PyTorchFixtureTests
{
    public static TheoryData<string, string, CheckpointFormat> Twins() => new()
    {
        { "tiny_resnet.pt", "tiny_resnet.safetensors", CheckpointFormat.PyTorchZip },
        { "tiny_resnet_legacy.pt", "tiny_resnet.safetensors", CheckpointFormat.PyTorchLegacy },
        { "tiny_resnet_wrapped.pt", "tiny_resnet.safetensors", CheckpointFormat.PyTorchZip },
        { "dtypes.pt", "dtypes.safetensors", CheckpointFormat.PyTorchZip },
        { "dtypes_legacy.pt", "dtypes.safetensors", CheckpointFormat.PyTorchLegacy },
        { "views.pt", "views.safetensors", CheckpointFormat.PyTorchZip },
        { "views_legacy.pt", "views.safetensors", CheckpointFormat.PyTorchLegacy },
        { "hf_folder", "tiny_resnet.safetensors", CheckpointFormat.PyTorchZip },
        { "hf_sharded_bin", "tiny_resnet.safetensors", CheckpointFormat.PyTorchZip },
    };

    [Theory]
    [MemberData(nameof(Twins))]
    public void A_torch_save_file_reads_to_the_tensors_of_its_safetensors_twin(string file, string twin, CheckpointFormat format)
    {
        using var pt = Checkpoint.Open(PyTorchFixtures.Path(file));
        using var st = Checkpoint.Open(PyTorchFixtures.Path(twin));
        Assert.Equal(format, pt.Format);
        Assert.Equal(st.Entries.Select(e => e.Name).Order(StringComparer.Ordinal), pt.Entries.Select(e => e.Name).Order(StringComparer.Ordinal));
        foreach (var expected in st.Entries)
        {
            var actual = pt.GetEntry(expected.Name);
            Assert.Equal(expected.DType, actual.DType);
            Assert.Equal(expected.Shape, actual.Shape);
            Assert.Equal(expected.ByteLength, actual.ByteLength);
            using var want = st.Read(expected.Name);
            using var got = pt.Read(expected.Name);
            CheckpointAssert.SameTensor(want, got);
        }
        using var all = new DisposableDictionary(pt.ReadAll());
        Assert.Equal(st.Entries.Count, all.Items.Count);
    }

    [Fact]
    public void Every_dtype_zipit_supports_is_read_from_a_torch_save_file()
    {
        using var pt = Checkpoint.Open(PyTorchFixtures.Path("dtypes.pt"));
        Assert.Equal(SafetensorsDType.SupportedCodes.Order(), pt.Entries.Select(e => e.DType).Distinct().Order());
        using var large = pt.Read("t_i64_large");
        Assert.Equal([(1L << 40) + 3, -(1L << 50), 0], large.data<long>().ToArray());
        Assert.Equal(0, pt.GetEntry("t_f32_empty").NumElements);
    }

    [Theory]
    [InlineData("views.pt")]
    [InlineData("views_legacy.pt")]
    public void Shared_storages_strided_views_and_scalars_are_read_as_PyTorch_sees_them(string file)
    {
        using var pt = Checkpoint.Open(PyTorchFixtures.Path(file));
        using var baseTensor = pt.Read("base");
        // rows = base[2:4] shares base's storage: its data starts 16 floats into base's.
        Assert.Equal(pt.GetEntry("base").Begin + 16 * 4, pt.GetEntry("rows").Begin);
        using var rows = pt.Read("rows");
        using var expectedRows = baseTensor.narrow(0, 2, 2);
        AssertEqual(expectedRows, rows);
        using var transposed = pt.Read("transposed");
        using var t = baseTensor.t();
        Assert.True(transposed.is_contiguous());
        AssertEqual(t, transposed);
        using var strided = pt.Read("strided");
        using var s = baseTensor[TensorIndex.Slice(1), TensorIndex.Slice(1, null, 3)];
        AssertEqual(s, strided);
        using var scalar = pt.Read("scalar");
        Assert.Empty(scalar.shape);
        Assert.Equal(ScalarType.Int64, scalar.dtype);
        Assert.Equal(12345678901L, scalar.item<long>());
        using var expanded = pt.Read("expanded");
        Assert.Equal([0f, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3], expanded.data<float>().ToArray());
    }

    [Fact]
    public void A_wrapped_training_checkpoint_gives_its_state_dict_and_notes_what_it_left_out()
    {
        using var pt = Checkpoint.Open(PyTorchFixtures.Path("tiny_resnet_wrapped.pt"));
        var note = Assert.Single(pt.Notes);
        Assert.Contains("'state_dict'", note);
        foreach (var left in new[] { "'epoch'", "'optimizer'", "'best_acc'", "'arch'" }) Assert.Contains(left, note);
        Assert.DoesNotContain(pt.Entries, e => e.Name.Contains("momentum"));
    }

    [Fact]
    public void A_folder_with_config_json_exposes_its_scalar_fields_model_args_and_pretrained_cfg_as_metadata()
    {
        using var folder = Checkpoint.Open(PyTorchFixtures.Path("hf_folder"));
        Assert.Equal(PyTorchFixtures.Path("hf_folder"), folder.Folder);
        Assert.True(folder.HasConfig);
        Assert.Equal("PyTorch zip (torch.save), folder with config.json", folder.Description);
        Assert.EndsWith("pytorch_model.bin", folder.Path);
        var expected = new Dictionary<string, string>
        {
            ["config.architecture"] = "tiny_resnet",
            ["config.num_classes"] = "10",
            ["config.num_features"] = "8",
            ["config.global_pool"] = "avg",
            ["config.pretrained"] = "false",
            ["config.drop_rate"] = "0.25",
            ["config.model_args.num_heads"] = "2",
            ["config.model_args.depth"] = "1",
            ["config.model_args.act"] = "relu",
            ["config.pretrained_cfg"] = """{"mean":[0.5,0.5,0.5],"tag":"x"}""",
        };
        Assert.Equal(expected.OrderBy(kv => kv.Key), folder.Metadata.OrderBy(kv => kv.Key));
    }

    [Fact]
    public void A_sharded_pytorch_model_bin_folder_is_one_checkpoint()
    {
        using var sharded = Checkpoint.Open(PyTorchFixtures.Path("hf_sharded_bin"));
        Assert.True(sharded.IsSharded);
        Assert.Equal(2, sharded.Files.Count);
        Assert.Equal("sharded PyTorch zip (torch.save) (2 files), folder with config.json", sharded.Description);
        Assert.Equal("tiny_resnet", sharded.Metadata["config.architecture"]);
    }

    [Fact]
    public void A_folder_with_a_broken_config_json_exits_3_naming_it()
    {
        using var dir = new TempDirectory();
        File.Copy(PyTorchFixtures.Path("tiny_resnet.pt"), dir.File("pytorch_model.bin"));
        File.WriteAllText(dir.File("config.json"), "{\"architecture\": ");
        CheckpointAssert.InputError(() => Checkpoint.Open(dir.Path).Dispose(), "config.json", "not valid JSON");
    }

    [Fact]
    public void Tensor_data_is_read_from_the_file_when_asked_for_not_when_opened()
    {
        using var dir = new TempDirectory();
        var path = dir.File("views.pt");
        File.Copy(PyTorchFixtures.Path("views.pt"), path);
        using var pt = Checkpoint.Open(path);
        var entry = pt.GetEntry("base");
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            stream.Position = entry.Begin;
            stream.Write(BitConverter.GetBytes(42.5f));
        }
        using var tensor = pt.Read("base");
        Assert.Equal(42.5f, tensor[0, 0].item<float>());
    }

    [Fact]
    public void A_truncated_torch_save_file_exits_3()
    {
        using var dir = new TempDirectory();
        var path = dir.File("cut.pt");
        var bytes = File.ReadAllBytes(PyTorchFixtures.Path("tiny_resnet.pt"));
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        CheckpointAssert.InputError(() => Checkpoint.Open(path).Dispose(), "cut.pt", "not a readable PyTorch checkpoint");
        var legacy = File.ReadAllBytes(PyTorchFixtures.Path("tiny_resnet_legacy.pt"));
        File.WriteAllBytes(path, legacy[..(legacy.Length - 100)]);
        CheckpointAssert.InputError(() => Checkpoint.Open(path).Dispose(), "cut.pt", "runs past the end");
    }

    private static void AssertEqual(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var same = expected.eq(actual).all();
        Assert.True(same.item<bool>(), "tensors differ");
    }

    private sealed class DisposableDictionary(Dictionary<string, Tensor> items) : IDisposable
    {
        public Dictionary<string, Tensor> Items { get; } = items;

        public void Dispose()
        {
            foreach (var t in Items.Values) t.Dispose();
        }
    }
}
