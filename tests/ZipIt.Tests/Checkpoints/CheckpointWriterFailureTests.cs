using TorchSharp;
using ZipIt.Engine.Checkpoints;
using static TorchSharp.torch;
using ZipIt.Engine.Core;

namespace ZipIt.Tests.Checkpoints;

/// <summary>A failing write leaves nothing behind: no target, no temporary file.</summary>
public class CheckpointWriterFailureTests
{
    [Fact]
    public void WriteFile_ComplexTensor_NamesIt_AndLeavesNothing()
    {
        using var dir = new TempDirectory();
        using var ok = torch.ones(3);
        using var complex = torch.complex(torch.ones(2), torch.zeros(2));
        var e = Assert.Throws<ZipItException>(() =>
            CheckpointWriter.WriteFile(dir.File("out.safetensors"), [new("ok", ok), new("layer.z", complex)], null));
        Assert.Equal(ExitCode.Input, e.Code);
        Assert.Contains("'layer.z'", e.Message);
        Assert.Contains("out.safetensors", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Empty(dir.Names());
    }

    [Fact]
    public void WriteSharded_ComplexTensor_LeavesNothing_NotEvenTheFolder()
    {
        using var dir = new TempDirectory();
        using var ok = torch.ones(3);
        using var complex = torch.complex(torch.ones(2), torch.zeros(2));
        var outDir = Path.Combine(dir.Path, "out");
        var e = Assert.Throws<ZipItException>(() =>
            CheckpointWriter.WriteSharded(outDir, [new("a", ok), new("b", ok), new("z", complex)], null, 8));
        Assert.Contains("'z'", e.Message);
        Assert.Empty(dir.Names());
    }

    [Fact]
    public void WriteFile_RepeatedName_LeavesNothing()
    {
        using var dir = new TempDirectory();
        using var a = torch.ones(3);
        var e = Assert.Throws<ArgumentException>(() =>
            CheckpointWriter.WriteFile(dir.File("out.safetensors"), [new("w", a), new("w", a)], null));
        Assert.Contains("'w'", e.Message);
        Assert.Empty(dir.Names());
    }

    [Fact]
    public void WriteFile_ReservedName_LeavesNothing()
    {
        using var dir = new TempDirectory();
        using var a = torch.ones(3);
        Assert.Throws<ArgumentException>(() => CheckpointWriter.WriteFile(dir.File("out.safetensors"), [new("__metadata__", a)], null));
        Assert.Empty(dir.Names());
    }

    [Fact]
    public void WriteFile_MissingFolder_IsAResourceError()
    {
        using var dir = new TempDirectory();
        using var a = torch.ones(3);
        var e = Assert.Throws<ZipItException>(() => CheckpointWriter.WriteFile(Path.Combine(dir.Path, "no", "out.safetensors"), [new("a", a)], null));
        Assert.Equal(ExitCode.Resource, e.Code);
        Assert.Contains("out.safetensors", e.Message);
        Assert.Empty(dir.Names());
    }

    [Fact]
    public void WriteSharded_FailingLastRename_RemovesEverythingItWrote()
    {
        using var dir = new TempDirectory();
        // A folder squatting on the index name makes the final rename fail after the shards were renamed.
        Directory.CreateDirectory(dir.File(Checkpoint.IndexFileName));
        using var a = torch.ones(4);
        using var b = torch.ones(4);
        var e = Assert.Throws<ZipItException>(() => CheckpointWriter.WriteSharded(dir.Path, [new("a", a), new("b", b)], null, 16));
        Assert.Equal(ExitCode.Resource, e.Code);
        Assert.Contains(Checkpoint.IndexFileName, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal([Checkpoint.IndexFileName], dir.Names());
    }

    [Fact]
    public void WriteFile_OntoAFolder_LeavesNothing()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.File("out.safetensors"));
        using var a = torch.ones(4);
        Assert.Throws<ZipItException>(() => CheckpointWriter.WriteFile(dir.File("out.safetensors"), [new("a", a)], null));
        Assert.Equal(["out.safetensors"], dir.Names());
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.File("out.safetensors")));
    }

    [Fact]
    public void Dtypes_RoundTripThroughTheTable()
    {
        foreach (var code in SafetensorsDType.SupportedCodes)
        {
            var type = SafetensorsDType.ToScalarType(code);
            Assert.Equal(code, SafetensorsDType.FromScalarType(type));
            using var t = torch.zeros(1, dtype: type);
            Assert.Equal(t.ElementSize, SafetensorsDType.ElementSize(code));
        }
        Assert.False(SafetensorsDType.TryFromScalarType(ScalarType.ComplexFloat32, out _));
        Assert.Throws<ArgumentException>(() => SafetensorsDType.ToScalarType("U16"));
        Assert.False(SafetensorsDType.IsKnown("F33"));
    }
}
