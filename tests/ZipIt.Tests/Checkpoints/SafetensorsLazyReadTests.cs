using TorchSharp;
using ZipIt.Engine.Checkpoints;
using static TorchSharp.torch;

namespace ZipIt.Tests.Checkpoints;

/// <summary>Reading one tensor touches only its own bytes.</summary>
public class SafetensorsLazyReadTests
{
    private static (string Path, Tensor A) TwoTensors(TempDirectory dir)
    {
        var a = torch.arange(6, dtype: ScalarType.Float32).reshape(2, 3);
        using var b = torch.full([1000], 7.0f);
        var path = dir.File("two.safetensors");
        CheckpointWriter.WriteFile(path, [new("a", a), new("b", b)], null);
        return (path, a);
    }

    [Fact]
    public void CorruptBytesOfAnotherTensor_DoNotMatter()
    {
        using var dir = new TempDirectory();
        var (path, a) = TwoTensors(dir);
        using var _ = a;
        TensorEntry bEntry;
        using (var file = SafetensorsFile.Open(path)) bEntry = file.GetEntry("b");
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            stream.Position = bEntry.Begin;
            stream.Write(Enumerable.Repeat((byte)0xff, (int)bEntry.ByteLength).ToArray()); // NaNs
        }

        using var reopened = SafetensorsFile.Open(path);
        using var back = reopened.Read("a");
        CheckpointAssert.SameTensor(a, back);
        using var garbage = reopened.Read("b");
        Assert.True(garbage.isnan().all().item<bool>());
    }

    [Fact]
    public void FileTruncatedAfterOpen_OnlyTheCutTensorFails()
    {
        using var dir = new TempDirectory();
        var (path, a) = TwoTensors(dir);
        using var _ = a;
        using var file = SafetensorsFile.Open(path); // header validated now, data read later
        var bEntry = file.GetEntry("b");
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite)) stream.SetLength(bEntry.Begin + 10);

        using var back = file.Read("a");
        CheckpointAssert.SameTensor(a, back);
        CheckpointAssert.InputError(() => file.Read("b").Dispose(), "two.safetensors", "'b'", "ends at byte");
    }

    [Fact]
    public void Sharded_ShardsAreOpenedOnDemand()
    {
        using var dir = new TempDirectory();
        using var a = torch.ones(4);
        using var b = torch.zeros(4);
        CheckpointWriter.WriteSharded(dir.Path, [new("a", a), new("b", b)], null, 16);
        using var ckpt = Checkpoint.Open(dir.Path);
        Assert.Equal(2, ckpt.Files.Count);
        File.Delete(ckpt.Files[1]); // b's shard disappears after open

        using var back = ckpt.Read("a");
        CheckpointAssert.SameTensor(a, back);
        CheckpointAssert.InputError(() => ckpt.Read("b").Dispose(), "model-00002-of-00002.safetensors", "file not found");
    }

    [Fact]
    public void Sharded_ShardRewrittenAfterOpen_IsDetected()
    {
        using var dir = new TempDirectory();
        using var a = torch.ones(4);
        using var b = torch.zeros(4);
        CheckpointWriter.WriteSharded(dir.Path, [new("a", a), new("b", b)], null, 16);
        using var ckpt = Checkpoint.Open(dir.Path);
        using var other = torch.zeros(8);
        CheckpointWriter.WriteFile(ckpt.Files[1], [new("b", other)], null);
        CheckpointAssert.InputError(() => ckpt.Read("b").Dispose(), "model-00002-of-00002.safetensors", "changed after");
    }
}
