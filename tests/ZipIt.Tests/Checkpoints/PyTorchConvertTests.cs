using System.Text.Json;
using TorchSharp;
using ZipIt.Engine.Checkpoints;
using ZipIt.Tests.Cli;
using static TorchSharp.torch;

namespace ZipIt.Tests.Checkpoints;

/// <summary><c>convert</c>: torch.save files and safetensors in, safetensors out, the same tensors.</summary>
public sealed class PyTorchConvertTests
{
    [Theory]
    [InlineData("tiny_resnet.pt", "tiny_resnet.safetensors", "pytorch-zip")]
    [InlineData("tiny_resnet_legacy.pt", "tiny_resnet.safetensors", "pytorch-legacy")]
    [InlineData("tiny_resnet_wrapped.pt", "tiny_resnet.safetensors", "pytorch-zip")]
    [InlineData("views.pt", "views.safetensors", "pytorch-zip")]
    [InlineData("dtypes_legacy.pt", "dtypes.safetensors", "pytorch-legacy")]
    public void A_torch_save_file_converts_to_safetensors_holding_the_same_tensors(string file, string twin, string format)
    {
        using var dir = new TempDirectory();
        var output = dir.File("out.safetensors");
        var result = Tool.Run("convert", PyTorchFixtures.Path(file), "-o", output);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(["out.safetensors"], dir.Names());

        using var converted = Checkpoint.Open(output);
        using var expected = Checkpoint.Open(PyTorchFixtures.Path(twin));
        Assert.Equal(CheckpointFormat.Safetensors, converted.Format);
        Assert.Equal(file, converted.Metadata["zipit.converted_from"]);
        Assert.Equal(format, converted.Metadata["zipit.converted_from_format"]);
        AssertSameTensors(expected, converted, dtype: null);
    }

    [Theory]
    [InlineData("f16", ScalarType.Float16)]
    [InlineData("bf16", ScalarType.BFloat16)]
    [InlineData("f32", ScalarType.Float32)]
    public void Dtype_changes_floating_point_tensors_only(string name, ScalarType type)
    {
        using var dir = new TempDirectory();
        var output = dir.File("out.safetensors");
        var result = Tool.Run("convert", PyTorchFixtures.Path("dtypes.pt"), "-o", output, "--dtype", name);
        Assert.True(result.ExitCode == 0, result.ToString());
        using var converted = Checkpoint.Open(output);
        using var expected = Checkpoint.Open(PyTorchFixtures.Path("dtypes.safetensors"));
        AssertSameTensors(expected, converted, type);
        Assert.Equal("I64", converted.GetEntry("t_i64").DType);
        Assert.Equal("BOOL", converted.GetEntry("t_bool").DType);
        Assert.Equal(SafetensorsDType.FromScalarType(type), converted.GetEntry("t_f64").DType);
    }

    [Fact]
    public void Shard_size_writes_hugging_face_shards_and_an_index_that_read_back_the_same()
    {
        using var dir = new TempDirectory();
        var output = dir.File("sharded");
        var result = Tool.Run("convert", PyTorchFixtures.Path("hf_folder"), "-o", output, "--shard-size", "2KB", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        var files = JsonDocument.Parse(result.Out).RootElement.GetProperty("files").EnumerateArray().Select(f => Path.GetFileName(f.GetString()!)).ToList();
        Assert.True(files.Count > 2, string.Join(", ", files));
        Assert.Equal(Checkpoint.IndexFileName, files[^1]);
        Assert.Equal(files.Order(StringComparer.Ordinal), Directory.GetFiles(output).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        using var sharded = Checkpoint.Open(output);
        using var expected = Checkpoint.Open(PyTorchFixtures.Path("tiny_resnet.safetensors"));
        Assert.True(sharded.IsSharded);
        Assert.Equal("tiny_resnet", sharded.Metadata["config.architecture"]);
        Assert.Equal("pytorch_model.bin", sharded.Metadata["zipit.converted_from"]);
        AssertSameTensors(expected, sharded, dtype: null);
        foreach (var shard in sharded.Files) Assert.True(new FileInfo(shard).Length < 2000 + 4096, shard);
    }

    [Fact]
    public void Safetensors_metadata_is_kept_and_the_output_is_byte_identical_on_a_second_run()
    {
        using var dir = new TempDirectory();
        var source = Repository.Fixture("parity", "resnet20x2_cifar.safetensors");
        Assert.Equal(0, Tool.Run("convert", source, "-o", dir.File("a.safetensors")).ExitCode);
        Assert.Equal(0, Tool.Run("convert", source, "-o", dir.File("b.safetensors")).ExitCode);
        Assert.Equal(File.ReadAllBytes(dir.File("a.safetensors")), File.ReadAllBytes(dir.File("b.safetensors")));
        using var original = Checkpoint.Open(source);
        using var converted = Checkpoint.Open(dir.File("a.safetensors"));
        Assert.Equal(original.Metadata, converted.Metadata);
        AssertSameTensors(original, converted, dtype: null);
    }

    [Fact]
    public void Convert_refuses_to_overwrite_its_input()
    {
        using var dir = new TempDirectory();
        var path = dir.File("model.safetensors");
        File.Copy(PyTorchFixtures.Path("tiny_resnet.safetensors"), path);
        var before = File.ReadAllBytes(path);
        var result = Tool.Run("convert", path, "-o", path, "--dtype", "f16");
        Assert.Equal(2, result.ExitCode);
        ExitCodeTests.AssertOneErrorLine(result, "would overwrite the input model.safetensors");
        Assert.Equal(before, File.ReadAllBytes(path));

        var folder = Tool.Run("convert", dir.Path, "-o", path);
        Assert.Equal(2, folder.ExitCode);

        var sharded = dir.File("shards");
        Assert.Equal(0, Tool.Run("convert", path, "-o", sharded, "--shard-size", "4KB").ExitCode);
        var again = Tool.Run("convert", sharded, "-o", sharded, "--shard-size", "4KB", "--dtype", "f16");
        Assert.Equal(2, again.ExitCode);
        ExitCodeTests.AssertOneErrorLine(again, "would overwrite the input");
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Theory]
    [InlineData("--dtype", "f8", "--dtype f8")]
    [InlineData("--shard-size", "lots", "--shard-size lots")]
    [InlineData("--shard-size", "0", "--shard-size 0")]
    public void Bad_options_exit_2_and_write_nothing(string option, string value, string mentions)
    {
        using var dir = new TempDirectory();
        var result = Tool.Run("convert", PyTorchFixtures.Path("tiny_resnet.pt"), "-o", dir.File("out"), option, value);
        Assert.Equal(2, result.ExitCode);
        ExitCodeTests.AssertOneErrorLine(result, mentions);
        Assert.Empty(dir.Names());
    }

    [Fact]
    public void A_missing_input_exits_3_and_writes_nothing()
    {
        using var dir = new TempDirectory();
        var result = Tool.Run("convert", dir.File("absent.pt"), "-o", dir.File("out.safetensors"));
        Assert.Equal(3, result.ExitCode);
        ExitCodeTests.AssertOneErrorLine(result, "absent.pt: file not found");
        Assert.Empty(dir.Names());
    }

    [Fact]
    public void A_ResNet_saved_by_torch_save_predicts_as_its_safetensors_original_directly_and_converted()
    {
        using var dir = new TempDirectory();
        var io = Repository.Fixture("parity", "resnet20x2_cifar.io.safetensors");
        // A CIFAR ResNet written by torch.save, and its safetensors twin written from the same tensors.
        var pt = PyTorchFixtures.Path("cifar_resnet_111.pt");
        Assert.Equal(0, Tool.Run("predict", PyTorchFixtures.Path("cifar_resnet_111.safetensors"), "-i", io, "-o", dir.File("want.safetensors")).ExitCode);
        var direct = Tool.Run("predict", pt, "-i", io, "-o", dir.File("direct.safetensors"));
        Assert.True(direct.ExitCode == 0, direct.ToString());
        Assert.Equal(0, Tool.Run("convert", pt, "-o", dir.File("converted.safetensors")).ExitCode);
        var converted = Tool.Run("predict", dir.File("converted.safetensors"), "-i", io, "-o", dir.File("via.safetensors"));
        Assert.True(converted.ExitCode == 0, converted.ToString());

        using var want = Checkpoint.Open(dir.File("want.safetensors"));
        using var expected = want.Read("output");
        foreach (var name in new[] { "direct.safetensors", "via.safetensors" })
        {
            using var got = Checkpoint.Open(dir.File(name));
            using var actual = got.Read("output");
            CheckpointAssert.SameTensor(expected, actual);
        }
        var inspect = Tool.Run("inspect", pt);
        Assert.Contains("format:       PyTorch zip (torch.save)", inspect.Out);
        Assert.Contains("keys:         match the architecture", inspect.Out);
    }

    private static void AssertSameTensors(Checkpoint expected, Checkpoint actual, ScalarType? dtype)
    {
        Assert.Equal(expected.Entries.Select(e => e.Name).Order(StringComparer.Ordinal), actual.Entries.Select(e => e.Name).Order(StringComparer.Ordinal));
        foreach (var e in expected.Entries)
        {
            using var want = expected.Read(e.Name);
            using var got = actual.Read(e.Name);
            if (dtype is { } t && want.is_floating_point())
            {
                using var cast = want.to_type(t);
                CheckpointAssert.SameTensor(cast, got);
            }
            else
            {
                CheckpointAssert.SameTensor(want, got);
            }
        }
    }
}
