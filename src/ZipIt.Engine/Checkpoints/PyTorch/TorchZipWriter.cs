using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace ZipIt.Engine.Checkpoints.PyTorch;

/// <summary>
/// Writes a zip archive as PyTorch's <c>PyTorchStreamWriter</c> does (miniz with
/// <c>MZ_ZIP_FLAG_WRITE_ZIP64</c>): every member stored uncompressed, its data starting on a
/// 64-byte boundary, in one forward pass over the output. Given the same members in the same
/// order, the bytes are those PyTorch writes.
/// </summary>
/// <remarks>
/// <para>The layout, member by member: a local header with no time, no CRC and no sizes (bit 3
/// set, so they follow the data); the name; for a member of 4 GiB or more, or one that starts at
/// 4 GiB or more, a zip64 extra field (miniz's: the size and a compressed size of 0, and the
/// offset, each only where needed); then PyTorch's padding, an extra field with id <c>"FB"</c>
/// whose bytes are <c>'Z'</c>, as long as it takes to put the data on a multiple of 64
/// (<c>getPadding</c> in <c>caffe2/serialize/inline_container.cc</c>); the data; a data descriptor
/// (CRC-32 and sizes, 8-byte sizes where the local header had a zip64 field). An empty member has
/// neither bit 3 nor a descriptor. At the end: the central directory (zip64 extra fields where
/// a size or offset does not fit 32 bits), a zip64 end record and its locator (always, as miniz
/// writes them), and the end record.</para>
/// <para>Written by hand: <see cref="System.IO.Compression.ZipArchive"/> cannot add the padding
/// field to a local header (its extra fields are not settable), so it cannot align the data as
/// PyTorch does, and it stamps a time. The CRC-32 is <see cref="Crc32"/> from System.IO.Hashing.</para>
/// </remarks>
internal sealed class TorchZipWriter
{
    /// <summary>Where PyTorch puts every member's data: on a multiple of this (kFieldAlignment).</summary>
    public const int Alignment = 64;

    private const uint LocalSignature = 0x04034b50, DescriptorSignature = 0x08074b50, CentralSignature = 0x02014b50;
    private const uint End64Signature = 0x06064b50, Locator64Signature = 0x07064b50, EndSignature = 0x06054b50;
    private const ushort Utf8Flag = 0x0800, DescriptorFlag = 0x0008;
    private const long Max32 = 0xffffffff;

    private readonly Stream _stream;
    private readonly MemoryStream _central = new();
    private long _position;
    private long _count;
    private bool _finished;

    /// <summary>A writer that starts the archive at <paramref name="stream"/>'s current position, which must be its start.</summary>
    public TorchZipWriter(Stream stream) => _stream = stream;

    /// <summary>Adds a member holding <paramref name="data"/>.</summary>
    public void Add(string name, ReadOnlySpan<byte> data)
    {
        var copy = data.ToArray();
        Add(name, copy.Length, s => s.Write(copy));
    }

    /// <summary>
    /// Adds a member of <paramref name="size"/> bytes, which <paramref name="write"/> writes to the
    /// stream it is given (in as many writes as it likes).
    /// </summary>
    /// <exception cref="InvalidOperationException"><paramref name="write"/> wrote another number of bytes.</exception>
    public void Add(string name, long size, Action<Stream> write)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        var nameBytes = Encoding.UTF8.GetBytes(name);
        if (nameBytes.Length > ushort.MaxValue) throw new ArgumentException($"zip member name of {nameBytes.Length} bytes", nameof(name));

        var offset = _position;
        var bigSize = size >= Max32;
        var bigOffset = offset >= Max32;
        var flags = (ushort)(Utf8Flag | (size > 0 ? DescriptorFlag : 0));

        // miniz's local zip64 field holds the size and a compressed size of 0 (not yet known when
        // the header is written), then the offset.
        var zip64 = Zip64Extra(bigSize ? [size, 0] : [], bigOffset ? offset : null);
        var dataStart = offset + 30 + nameBytes.Length + zip64.Length + 4;
        var padding = (int)((Alignment - dataStart % Alignment) % Alignment);

        var local = new byte[30];
        BinaryPrimitives.WriteUInt32LittleEndian(local, LocalSignature);
        BinaryPrimitives.WriteUInt16LittleEndian(local.AsSpan(6), flags);
        BinaryPrimitives.WriteUInt16LittleEndian(local.AsSpan(26), (ushort)nameBytes.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(local.AsSpan(28), (ushort)(zip64.Length + 4 + padding));
        Write(local);
        Write(nameBytes);
        Write(zip64);
        var pad = new byte[4 + padding];
        pad[0] = (byte)'F';
        pad[1] = (byte)'B';
        BinaryPrimitives.WriteUInt16LittleEndian(pad.AsSpan(2), (ushort)padding);
        pad.AsSpan(4).Fill((byte)'Z');
        Write(pad);

        var counting = new CrcStream(_stream);
        write(counting);
        if (counting.Length != size)
            throw new InvalidOperationException($"zip member {name}: {counting.Length} bytes written, {size} declared");
        _position += size;
        var crc = counting.Crc;

        if (size > 0)
        {
            var descriptor = new byte[bigSize || bigOffset ? 24 : 16];
            BinaryPrimitives.WriteUInt32LittleEndian(descriptor, DescriptorSignature);
            BinaryPrimitives.WriteUInt32LittleEndian(descriptor.AsSpan(4), crc);
            if (descriptor.Length == 24)
            {
                BinaryPrimitives.WriteInt64LittleEndian(descriptor.AsSpan(8), size);
                BinaryPrimitives.WriteInt64LittleEndian(descriptor.AsSpan(16), size);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(descriptor.AsSpan(8), (uint)size);
                BinaryPrimitives.WriteUInt32LittleEndian(descriptor.AsSpan(12), (uint)size);
            }
            Write(descriptor);
        }

        var centralExtra = Zip64Extra(bigSize ? [size, size] : [], bigOffset ? offset : null);
        var entry = new byte[46];
        BinaryPrimitives.WriteUInt32LittleEndian(entry, CentralSignature);
        BinaryPrimitives.WriteUInt16LittleEndian(entry.AsSpan(8), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(16), crc);
        BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(20), (uint)Math.Min(size, Max32));
        BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(24), (uint)Math.Min(size, Max32));
        BinaryPrimitives.WriteUInt16LittleEndian(entry.AsSpan(28), (ushort)nameBytes.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(entry.AsSpan(30), (ushort)centralExtra.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(42), (uint)Math.Min(offset, Max32));
        _central.Write(entry);
        _central.Write(nameBytes);
        _central.Write(centralExtra);
        _count++;
    }

    /// <summary>Writes the central directory and the end records; the archive is then complete.</summary>
    public void Finish()
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        _finished = true;
        var centralOffset = _position;
        var centralSize = _central.Length;
        Write(_central.ToArray());

        var end64Offset = _position;
        var end64 = new byte[56];
        BinaryPrimitives.WriteUInt32LittleEndian(end64, End64Signature);
        BinaryPrimitives.WriteInt64LittleEndian(end64.AsSpan(4), 56 - 12);
        BinaryPrimitives.WriteUInt16LittleEndian(end64.AsSpan(12), 0x031e); // made by: Unix, 3.0 (miniz's value)
        BinaryPrimitives.WriteUInt16LittleEndian(end64.AsSpan(14), 45); // needed: 4.5, zip64
        BinaryPrimitives.WriteInt64LittleEndian(end64.AsSpan(24), _count);
        BinaryPrimitives.WriteInt64LittleEndian(end64.AsSpan(32), _count);
        BinaryPrimitives.WriteInt64LittleEndian(end64.AsSpan(40), centralSize);
        BinaryPrimitives.WriteInt64LittleEndian(end64.AsSpan(48), centralOffset);
        Write(end64);

        var locator = new byte[20];
        BinaryPrimitives.WriteUInt32LittleEndian(locator, Locator64Signature);
        BinaryPrimitives.WriteInt64LittleEndian(locator.AsSpan(8), end64Offset);
        BinaryPrimitives.WriteUInt32LittleEndian(locator.AsSpan(16), 1); // disks
        Write(locator);

        var end = new byte[22];
        BinaryPrimitives.WriteUInt32LittleEndian(end, EndSignature);
        BinaryPrimitives.WriteUInt16LittleEndian(end.AsSpan(8), (ushort)Math.Min(_count, 0xffff));
        BinaryPrimitives.WriteUInt16LittleEndian(end.AsSpan(10), (ushort)Math.Min(_count, 0xffff));
        BinaryPrimitives.WriteUInt32LittleEndian(end.AsSpan(12), (uint)Math.Min(centralSize, Max32));
        BinaryPrimitives.WriteUInt32LittleEndian(end.AsSpan(16), (uint)Math.Min(centralOffset, Max32));
        Write(end);
    }

    /// <summary>A zip64 extended-information field (id 1) of <paramref name="sizes"/> then the offset; empty when there is nothing to hold.</summary>
    private static byte[] Zip64Extra(long[] sizes, long? offset)
    {
        var values = offset is { } o ? [.. sizes, o] : sizes;
        if (values.Length == 0) return [];
        var field = new byte[4 + 8 * values.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(field, 1);
        BinaryPrimitives.WriteUInt16LittleEndian(field.AsSpan(2), (ushort)(8 * values.Length));
        for (var i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(field.AsSpan(4 + 8 * i), values[i]);
        return field;
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        _stream.Write(bytes);
        _position += bytes.Length;
    }

    /// <summary>Passes a member's bytes on to the archive, counting them and computing their CRC-32.</summary>
    private sealed class CrcStream(Stream inner) : Stream
    {
        private readonly Crc32 _crc = new();

        public uint Crc => _crc.GetCurrentHashAsUInt32();

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _length;
        public override long Position { get => _length; set => throw new NotSupportedException(); }

        private long _length;

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _crc.Append(buffer);
            inner.Write(buffer);
            _length += buffer.Length;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void WriteByte(byte value) => Write([value]);

        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
