using System.IO.Compression;
using System.Text;

namespace ZipIt.Tests.Checkpoints;

/// <summary>The committed torch.save fixtures (written once by PyTorchFixtures/make_fixtures.py).</summary>
internal static class PyTorchFixtures
{
    public static string Path(string name)
    {
        var path = System.IO.Path.Combine(Repository.Root, "tests", "ZipIt.Tests", "Checkpoints", "PyTorchFixtures", name);
        Assert.True(File.Exists(path) || Directory.Exists(path), $"fixture missing: {path}");
        return path;
    }
}

/// <summary>Hand-made pickle bytes (protocol 2 opcodes) and torch.save-shaped files around them.</summary>
internal sealed class PickleBuilder
{
    private readonly List<byte> _bytes = [0x80, 2];

    public PickleBuilder Op(char op) { _bytes.Add((byte)op); return this; }

    public PickleBuilder Byte(byte op) { _bytes.Add(op); return this; }

    /// <summary>GLOBAL "module\nname\n".</summary>
    public PickleBuilder Global(string module, string name) => Op('c').Raw($"{module}\n{name}\n");

    /// <summary>BINUNICODE.</summary>
    public PickleBuilder Str(string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        Op('X');
        _bytes.AddRange(BitConverter.GetBytes((uint)b.Length));
        _bytes.AddRange(b);
        return this;
    }

    public PickleBuilder Int(byte value) => Op('K').Byte(value);

    /// <summary>LONG1, as Python writes ints past BININT's 32 bits: little-endian two's complement, as few bytes as the sign allows.</summary>
    public PickleBuilder Long(System.Numerics.BigInteger value)
    {
        var b = value.ToByteArray(isUnsigned: false, isBigEndian: false);
        Byte(0x8a).Byte((byte)b.Length);
        _bytes.AddRange(b);
        return this;
    }

    public PickleBuilder Raw(string ascii) { _bytes.AddRange(Encoding.ASCII.GetBytes(ascii)); return this; }

    public byte[] Stop() => [.. _bytes, (byte)'.'];

    /// <summary>A zip holding <c>archive/data.pkl</c> (stored, as torch.save writes), plus raw storages.</summary>
    public static void WriteZip(string path, byte[] pickle, params (string Name, byte[] Data)[] storages)
    {
        using var stream = File.Create(path);
        using var zip = new ZipArchive(stream, ZipArchiveMode.Create);
        void Add(string name, byte[] data)
        {
            using var s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
            s.Write(data);
        }
        Add("archive/data.pkl", pickle);
        foreach (var (name, data) in storages) Add("archive/data/" + name, data);
        Add("archive/version", "3\n"u8.ToArray());
    }
}

/// <summary>
/// A torch.save zip written by hand, zip64 throughout, whose storages are holes in a sparse file:
/// a checkpoint that declares gigabytes of tensors takes almost nothing on disk.
/// </summary>
internal static class SparseZip
{
    public static void Write(string path, byte[] pickle, params (string Name, long Bytes)[] storages)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        var central = new MemoryStream();
        var count = 0;
        void Member(string name, byte[]? data, long size)
        {
            var offset = stream.Position;
            var nameBytes = Encoding.UTF8.GetBytes(name);
            var local = new byte[30];
            BitConverter.GetBytes(0x04034b50u).CopyTo(local, 0);
            BitConverter.GetBytes((ushort)45).CopyTo(local, 4);
            BitConverter.GetBytes(0xffffffffu).CopyTo(local, 18);
            BitConverter.GetBytes(0xffffffffu).CopyTo(local, 22);
            BitConverter.GetBytes((ushort)nameBytes.Length).CopyTo(local, 26);
            stream.Write(local);
            stream.Write(nameBytes);
            if (data is not null) stream.Write(data);
            else stream.Seek(size, SeekOrigin.Current);

            var entry = new byte[46];
            BitConverter.GetBytes(0x02014b50u).CopyTo(entry, 0);
            BitConverter.GetBytes((ushort)45).CopyTo(entry, 4);
            BitConverter.GetBytes((ushort)45).CopyTo(entry, 6);
            BitConverter.GetBytes(0xffffffffu).CopyTo(entry, 20);
            BitConverter.GetBytes(0xffffffffu).CopyTo(entry, 24);
            BitConverter.GetBytes((ushort)nameBytes.Length).CopyTo(entry, 28);
            BitConverter.GetBytes((ushort)28).CopyTo(entry, 30);
            BitConverter.GetBytes(0xffffffffu).CopyTo(entry, 42);
            central.Write(entry);
            central.Write(nameBytes);
            central.Write(BitConverter.GetBytes((ushort)1));
            central.Write(BitConverter.GetBytes((ushort)24));
            central.Write(BitConverter.GetBytes(size));
            central.Write(BitConverter.GetBytes(size));
            central.Write(BitConverter.GetBytes(offset));
            count++;
        }
        Member("archive/data.pkl", pickle, pickle.Length);
        Member("archive/version", "3\n"u8.ToArray(), 2);
        foreach (var (name, bytes) in storages) Member("archive/data/" + name, null, bytes);

        var centralOffset = stream.Position;
        stream.Write(central.ToArray());
        var end64 = stream.Position;
        var record = new byte[56];
        BitConverter.GetBytes(0x06064b50u).CopyTo(record, 0);
        BitConverter.GetBytes(44L).CopyTo(record, 4);
        BitConverter.GetBytes((long)count).CopyTo(record, 24);
        BitConverter.GetBytes((long)count).CopyTo(record, 32);
        BitConverter.GetBytes(central.Length).CopyTo(record, 40);
        BitConverter.GetBytes(centralOffset).CopyTo(record, 48);
        stream.Write(record);
        var locator = new byte[20];
        BitConverter.GetBytes(0x07064b50u).CopyTo(locator, 0);
        BitConverter.GetBytes(end64).CopyTo(locator, 8);
        BitConverter.GetBytes(1u).CopyTo(locator, 16);
        stream.Write(locator);
        var end = new byte[22];
        BitConverter.GetBytes(0x06054b50u).CopyTo(end, 0);
        BitConverter.GetBytes((ushort)0xffff).CopyTo(end, 8);
        BitConverter.GetBytes((ushort)0xffff).CopyTo(end, 10);
        BitConverter.GetBytes(0xffffffffu).CopyTo(end, 12);
        BitConverter.GetBytes(0xffffffffu).CopyTo(end, 16);
        stream.Write(end);
    }
}

/// <summary>
/// A torch.save-shaped zip past 4 GiB, written by <see cref="ZipIt.Engine.Checkpoints.PyTorch.TorchZipWriter"/>
/// into a sparse file: <c>archive/data/0</c>, 4 GiB + 1 zero bytes (a hole), and <c>archive/data/1</c>,
/// 100 bytes 1..100 at an offset past 32 bits. Both need miniz's zip64 fields.
/// </summary>
internal static class Zip64Archive
{
    public static (long BigSize, byte[] Tail) Write(string path)
    {
        const long big = (4L << 30) + 1;
        var tail = Enumerable.Range(1, 100).Select(i => (byte)i).ToArray();
        using var sink = new SparseStream(path);
        var zip = new ZipIt.Engine.Checkpoints.PyTorch.TorchZipWriter(sink);
        zip.Add("archive/data.pkl", "x"u8);
        zip.Add("archive/data/0", big, s =>
        {
            var zeros = new byte[16 << 20];
            for (long done = 0; done < big; done += zeros.Length) s.Write(zeros, 0, (int)Math.Min(zeros.Length, big - done));
        });
        zip.Add("archive/data/1", tail);
        zip.Add("archive/version", "3\n"u8);
        zip.Finish();
        return (big, tail);
    }
}

/// <summary>A file stream that seeks over all-zero writes, leaving holes: gigabytes of zeros take no disk.</summary>
internal sealed class SparseStream(string path) : Stream
{
    private readonly FileStream _file = new(path, FileMode.CreateNew, FileAccess.Write);
    private long _position;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => _position;
    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (buffer.ContainsAnyExcept((byte)0)) { _file.Position = _position; _file.Write(buffer); }
        _position += buffer.Length;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _file.SetLength(_position);
            _file.Dispose();
        }
        base.Dispose(disposing);
    }

    public override void Flush() => _file.Flush();
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
