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
