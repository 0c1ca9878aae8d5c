using System.Buffers.Binary;
using ZipIt.Tests.Checkpoints;
using ZipIt.Engine.Core;

namespace ZipIt.Tests.Cli;

/// <summary>Every class of header corruption reaches the user as exit 3, one line naming the file, and no output.</summary>
public sealed class CorruptCheckpointTests
{
    public static TheoryData<string, byte[], string> Corruptions()
    {
        var f32 = """{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""";
        var huge = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(huge, 200_000_000);
        return new()
        {
            { "shorter than 8 bytes", [1, 2, 3], "" },
            { "header length over the cap", huge, "header" },
            { "not JSON", RawSafetensors.Build("{\"w\": [", 8), "" },
            { "not an object", RawSafetensors.Build("[1,2]", 0), "" },
            { "metadata not string to string", RawSafetensors.Build("""{"__metadata__":{"a":1}}""", 0), "__metadata__" },
            { "unknown dtype", RawSafetensors.Build(f32.Replace("F32", "Q7"), 8), "Q7" },
            { "unsupported dtype", RawSafetensors.Build(f32.Replace("F32", "C64"), 8), "C64" },
            { "span does not match shape", RawSafetensors.Build(f32.Replace("[2]", "[3]"), 8), "'w'" },
            { "offsets past the end", RawSafetensors.Build(f32, 4), "'w'" },
            { "overlapping tensors", RawSafetensors.Build("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12), "overlap" },
            { "duplicate key", RawSafetensors.Build("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8), "duplicate" },
        };
    }

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void A_corrupt_checkpoint_exits_3_with_one_line_and_writes_nothing(string label, byte[] bytes, string mentions)
    {
        using var dir = new TempDirectory();
        var model = dir.File("model.safetensors");
        File.WriteAllBytes(model, bytes);

        var inspect = Tool.Run("inspect", model);
        Assert.True(inspect.ExitCode == 3, $"{label}: {inspect}");
        ExitCodeTests.AssertOneErrorLine(inspect, "model.safetensors");
        Assert.Contains(mentions, inspect.Error);

        var predict = Tool.Run("predict", Repository.Fixture("parity", "resnet20x2_cifar.safetensors"), "-i", model, "-o", dir.File("out.safetensors"));
        Assert.True(predict.ExitCode == 3, $"{label}: {predict}");
        ExitCodeTests.AssertOneErrorLine(predict, "model.safetensors");
        Assert.Equal(["model.safetensors"], dir.Names());
    }
}
