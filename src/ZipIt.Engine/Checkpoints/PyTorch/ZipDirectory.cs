using System.Buffers.Binary;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace ZipIt.Engine.Checkpoints.PyTorch;

/// <summary>One member of a zip archive: where its bytes start in the file, and how many there are.</summary>
internal readonly record struct ZipMember(string Name, long DataOffset, long Size, int Method);

/// <summary>
/// Reads a zip archive's central directory (zip64 too) and each member's local header, to find
/// the absolute offset of every member's data. torch.save writes its storages uncompressed, so a
/// tensor is then read with one positioned read, straight into its memory.
/// </summary>
/// <remarks>
/// <see cref="System.IO.Compression.ZipArchive"/> lists members but exposes no data offsets, and
/// its member streams do not seek: reading a view in the middle of a storage would read all bytes
/// before it. Only what locating stored members needs is read here; CRCs are not checked.
/// </remarks>
internal static class ZipDirectory
{
    private const uint EndSignature = 0x06054b50, End64Signature = 0x06064b50, Locator64Signature = 0x07064b50;
    private const uint CentralSignature = 0x02014b50, LocalSignature = 0x04034b50;
    private const int MaxCentralBytes = 256 << 20;

    /// <summary>Every member by name; an <see cref="InvalidDataException"/> says what is malformed.</summary>
    public static Dictionary<string, ZipMember> Read(SafeFileHandle handle, long length)
    {
        var tailLength = (int)Math.Min(length, 22 + 65535 + 20);
        var tail = ReadAt(handle, length - tailLength, tailLength);
        var end = -1;
        for (var i = tailLength - 22; i >= 0; i--)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(i)) == EndSignature) { end = i; break; }
        }
        if (end < 0) throw new InvalidDataException("no zip end-of-central-directory record (truncated?)");

        long count = BinaryPrimitives.ReadUInt16LittleEndian(tail.AsSpan(end + 10));
        long centralSize = BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(end + 12));
        long centralOffset = BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(end + 16));
        if (count == 0xffff || centralSize == 0xffffffff || centralOffset == 0xffffffff)
        {
            if (end < 20 || BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(end - 20)) != Locator64Signature)
                throw new InvalidDataException("a zip64 archive without its zip64 locator");
            var at = (long)BinaryPrimitives.ReadUInt64LittleEndian(tail.AsSpan(end - 20 + 8));
            if (at < 0 || at > length - 56) throw new InvalidDataException("the zip64 end record lies outside the file");
            var record = ReadAt(handle, at, 56);
            if (BinaryPrimitives.ReadUInt32LittleEndian(record) != End64Signature) throw new InvalidDataException("no zip64 end record where the locator points");
            count = (long)BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(32));
            centralSize = (long)BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(40));
            centralOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(48));
        }
        if (centralSize < 0 || centralSize > MaxCentralBytes || centralOffset < 0 || centralOffset > length - centralSize)
            throw new InvalidDataException("the zip central directory lies outside the file");

        var central = ReadAt(handle, centralOffset, (int)centralSize);
        var members = new Dictionary<string, ZipMember>(StringComparer.Ordinal);
        var p = 0;
        for (long k = 0; k < count; k++)
        {
            if (p + 46 > central.Length || BinaryPrimitives.ReadUInt32LittleEndian(central.AsSpan(p)) != CentralSignature)
                throw new InvalidDataException("a malformed zip central directory entry");
            int method = BinaryPrimitives.ReadUInt16LittleEndian(central.AsSpan(p + 10));
            long compressed = BinaryPrimitives.ReadUInt32LittleEndian(central.AsSpan(p + 20));
            long size = BinaryPrimitives.ReadUInt32LittleEndian(central.AsSpan(p + 24));
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(central.AsSpan(p + 28));
            int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(central.AsSpan(p + 30));
            int commentLength = BinaryPrimitives.ReadUInt16LittleEndian(central.AsSpan(p + 32));
            long local = BinaryPrimitives.ReadUInt32LittleEndian(central.AsSpan(p + 42));
            if (p + 46 + nameLength + extraLength + commentLength > central.Length) throw new InvalidDataException("a malformed zip central directory entry");
            var name = Encoding.UTF8.GetString(central, p + 46, nameLength);
            ReadZip64Extra(central.AsSpan(p + 46 + nameLength, extraLength), ref size, ref compressed, ref local);
            p += 46 + nameLength + extraLength + commentLength;

            if (local < 0 || local > length - 30) throw new InvalidDataException($"member {name}: its local header lies outside the file");
            var header = ReadAt(handle, local, 30);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header) != LocalSignature) throw new InvalidDataException($"member {name}: no local header where the directory points");
            var data = local + 30 + BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(26)) + BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(28));
            if (compressed < 0 || data > length - compressed) throw new InvalidDataException($"member {name}: its data runs past the end of the file");
            if (method == 0 && compressed != size) throw new InvalidDataException($"member {name}: stored, but its two sizes differ");
            if (!members.TryAdd(name, new ZipMember(name, data, size, method))) throw new InvalidDataException($"member {name} appears twice");
        }
        return members;
    }

    private static void ReadZip64Extra(ReadOnlySpan<byte> extra, ref long size, ref long compressed, ref long local)
    {
        while (extra.Length >= 4)
        {
            int id = BinaryPrimitives.ReadUInt16LittleEndian(extra);
            int n = BinaryPrimitives.ReadUInt16LittleEndian(extra[2..]);
            if (4 + n > extra.Length) return;
            if (id == 1)
            {
                var field = extra.Slice(4, n);
                if (size == 0xffffffff && field.Length >= 8) { size = (long)BinaryPrimitives.ReadUInt64LittleEndian(field); field = field[8..]; }
                if (compressed == 0xffffffff && field.Length >= 8) { compressed = (long)BinaryPrimitives.ReadUInt64LittleEndian(field); field = field[8..]; }
                if (local == 0xffffffff && field.Length >= 8) local = (long)BinaryPrimitives.ReadUInt64LittleEndian(field);
                return;
            }
            extra = extra[(4 + n)..];
        }
    }

    private static byte[] ReadAt(SafeFileHandle handle, long offset, int count)
    {
        var buffer = new byte[count];
        var done = 0;
        while (done < count)
        {
            var n = RandomAccess.Read(handle, buffer.AsSpan(done), offset + done);
            if (n == 0) throw new InvalidDataException("the file ends early");
            done += n;
        }
        return buffer;
    }
}
