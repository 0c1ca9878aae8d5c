using System.IO.Compression;
using System.IO.Hashing;
using ZipIt.Engine.Checkpoints.PyTorch;
using ZipIt.Tests.Infrastructure;

namespace ZipIt.Tests.Checkpoints;

/// <summary>One <see cref="Zip64Archive"/> (a sparse file past 4 GiB) for the class; its CRC-32 alone reads 4 GiB.</summary>
public sealed class Zip64ArchiveFixture : IDisposable
{
    private readonly TempDirectory _dir = new();

    public Zip64ArchiveFixture()
    {
        Path = _dir.File("big.pt");
        (BigSize, Tail) = Zip64Archive.Write(Path);
    }

    public string Path { get; }

    public long BigSize { get; }

    public byte[] Tail { get; }

    public void Dispose() => _dir.Dispose();
}

/// <summary>
/// Members of 4 GiB or more, and members that start past 4 GiB, as <see cref="TorchZipWriter"/>
/// writes them (miniz's zip64 fields), read by zipit's reader, .NET's and PyTorch's. Integration
/// tier: writing the archive computes the CRC-32 of 4 GiB (seconds).
/// </summary>
[Trait("Category", Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class PyTorchWriterZip64Tests(Zip64ArchiveFixture big) : IClassFixture<Zip64ArchiveFixture>
{
    [Fact]
    public void Zipits_reader_and_dotnets_find_the_members_and_their_bytes_on_64_byte_boundaries()
    {
        using (var handle = File.OpenHandle(big.Path))
        {
            var members = ZipDirectory.Read(handle, RandomAccess.GetLength(handle));
            Assert.Equal(big.BigSize, members["archive/data/0"].Size);
            var last = members["archive/data/1"];
            Assert.True(last.DataOffset > uint.MaxValue, $"{last.DataOffset}");
            Assert.All(members.Values, m => Assert.True(m.DataOffset % 64 == 0, $"{m.Name} at {m.DataOffset}"));
            var read = new byte[100];
            RandomAccess.Read(handle, read, last.DataOffset);
            Assert.Equal(big.Tail, read);
        }
        using var archive = ZipFile.OpenRead(big.Path);
        var entry = archive.GetEntry("archive/data/1")!;
        Assert.Equal(100, entry.Length);
        Assert.Equal(Crc32.HashToUInt32(big.Tail), entry.Crc32);
        Assert.Equal(big.Tail, PyTorchWriterTests.Bytes(entry));
        Assert.Equal(big.BigSize, archive.GetEntry("archive/data/0")!.Length);
    }

    [PythonTorchFact]
    public void PyTorchs_own_zip_reader_and_pythons_zipfile_read_them()
    {
        var output = PyTorchWriterTorchLoadTests.Check("zip64", big.Path, "data/1", Convert.ToHexString(big.Tail), "data/0",
            big.BigSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains("ok PyTorch's reader and zipfile read data/1 past 4 GiB", output);
    }
}
