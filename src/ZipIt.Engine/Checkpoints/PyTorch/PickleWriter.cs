using System.Buffers.Binary;
using System.Text;

namespace ZipIt.Engine.Checkpoints.PyTorch;

/// <summary>
/// Emits pickle protocol 2 opcodes (what <c>torch.save</c> writes by default), one value at a time:
/// the caller walks its object and says which opcode comes next. Only plain values, globals,
/// tuples, calls and persistent ids: what a state dict of tensors needs, nothing more.
/// </summary>
/// <remarks>
/// <para>The memo works as CPython's pickler does, so the bytes are those Python writes for the
/// same objects: each string, non-empty tuple, global and call result is stored (<c>BINPUT</c>, or
/// <c>LONG_BINPUT</c> from index 256) as it is made; a global, or a string the caller marks as
/// one shared object (Python memoizes by identity: <c>'storage'</c> is one constant, each key a new
/// string), is fetched back with <c>BINGET</c> when it comes again. Ints take the smallest of
/// <c>BININT1</c>, <c>BININT2</c>, <c>BININT</c> and <c>LONG1</c>, as Python's do.</para>
/// <para>Nothing here reads a pickle: <see cref="PickleMachine"/> does, and refuses what this
/// writes only if it is not a plain state dict.</para>
/// </remarks>
internal sealed class PickleWriter
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly MemoryStream _out = new();
    private readonly Dictionary<(string Module, string Name), long> _globals = [];
    private readonly Dictionary<string, long> _shared = new(StringComparer.Ordinal);
    private long _memo;

    public PickleWriter()
    {
        _out.WriteByte(0x80); // PROTO
        _out.WriteByte(2);
    }

    /// <summary><c>GLOBAL module\nname\n</c>, or a <c>BINGET</c> of the same global written before.</summary>
    public PickleWriter Global(string module, string name)
    {
        if (_globals.TryGetValue((module, name), out var index)) return Get(index);
        _out.WriteByte((byte)'c');
        WriteAscii(module);
        _out.WriteByte((byte)'\n');
        WriteAscii(name);
        _out.WriteByte((byte)'\n');
        _globals[(module, name)] = _memo;
        return Put();
    }

    /// <summary>
    /// <c>BINUNICODE</c> (memoized). <paramref name="shared"/>: the string is one object in Python
    /// (a constant), so it is written once and fetched back after; otherwise each call writes it anew.
    /// </summary>
    /// <exception cref="ArgumentException">The string is not valid UTF-16 (a lone surrogate).</exception>
    public PickleWriter Str(string value, bool shared = false)
    {
        if (shared && _shared.TryGetValue(value, out var index)) return Get(index);
        byte[] bytes;
        try
        {
            bytes = StrictUtf8.GetBytes(value);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException($"'{value}' holds a lone surrogate, which UTF-8 cannot encode", nameof(value), e);
        }
        _out.WriteByte((byte)'X');
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)bytes.Length);
        _out.Write(length);
        _out.Write(bytes);
        if (shared) _shared[value] = _memo;
        return Put();
    }

    /// <summary>An int as Python pickles it: the smallest opcode that holds it.</summary>
    public PickleWriter Int(long value)
    {
        Span<byte> b = stackalloc byte[9];
        if (value is >= 0 and <= 0xff)
        {
            _out.WriteByte((byte)'K');
            _out.WriteByte((byte)value);
        }
        else if (value is >= 0 and <= 0xffff)
        {
            _out.WriteByte((byte)'M');
            BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)value);
            _out.Write(b[..2]);
        }
        else if (value is >= int.MinValue and <= int.MaxValue)
        {
            _out.WriteByte((byte)'J');
            BinaryPrimitives.WriteInt32LittleEndian(b, (int)value);
            _out.Write(b[..4]);
        }
        else
        {
            // LONG1: little-endian two's complement in as few bytes as keep the sign, like
            // Python's encode_long (a 64-bit value needs at most 8).
            BinaryPrimitives.WriteInt64LittleEndian(b, value);
            var n = 8;
            while (n > 1 && ((b[n - 1] == 0 && (b[n - 2] & 0x80) == 0) || (b[n - 1] == 0xff && (b[n - 2] & 0x80) != 0))) n--;
            _out.WriteByte(0x8a);
            _out.WriteByte((byte)n);
            _out.Write(b[..n]);
        }
        return this;
    }

    /// <summary><c>NEWTRUE</c> or <c>NEWFALSE</c>.</summary>
    public PickleWriter Bool(bool value) => Op(value ? (byte)0x88 : (byte)0x89);

    /// <summary><c>MARK</c>: the start of a tuple of more than three items, or of <c>SETITEMS</c>' pairs.</summary>
    public PickleWriter Mark() => Op((byte)'(');

    /// <summary>
    /// Closes a tuple of <paramref name="count"/> items already written: <c>EMPTY_TUPLE</c> (nothing
    /// written before it, not memoized), <c>TUPLE1</c>–<c>TUPLE3</c>, or <c>TUPLE</c> after a <see cref="Mark"/>.
    /// </summary>
    public PickleWriter Tuple(int count) => count switch
    {
        0 => Op((byte)')'),
        1 => Op(0x85).Put(),
        2 => Op(0x86).Put(),
        3 => Op(0x87).Put(),
        _ => Op((byte)'t').Put(),
    };

    /// <summary><c>REDUCE</c>: calls the callable below its argument tuple; the result is memoized.</summary>
    public PickleWriter Reduce() => Op((byte)'R').Put();

    /// <summary><c>BINPERSID</c>: the value below is a persistent id (for torch.save, a storage's).</summary>
    public PickleWriter PersistentId() => Op((byte)'Q');

    /// <summary><c>SETITEM</c> (one pair) or <c>SETITEMS</c> (the pairs since the <see cref="Mark"/>).</summary>
    public PickleWriter SetItems(int pairs) => Op(pairs == 1 ? (byte)'s' : (byte)'u');

    /// <summary><c>STOP</c>, and the pickle's bytes.</summary>
    public byte[] Stop()
    {
        _out.WriteByte((byte)'.');
        return _out.ToArray();
    }

    private PickleWriter Op(byte op)
    {
        _out.WriteByte(op);
        return this;
    }

    /// <summary>Stores the value just written at the next memo index, as Python's <c>memoize</c> does.</summary>
    private PickleWriter Put()
    {
        Span<byte> b = stackalloc byte[4];
        if (_memo < 256)
        {
            _out.WriteByte((byte)'q'); // BINPUT
            _out.WriteByte((byte)_memo);
        }
        else
        {
            _out.WriteByte((byte)'r'); // LONG_BINPUT
            BinaryPrimitives.WriteUInt32LittleEndian(b, checked((uint)_memo));
            _out.Write(b);
        }
        _memo++;
        return this;
    }

    /// <summary>Fetches memo entry <paramref name="index"/> (<c>BINGET</c>, or <c>LONG_BINGET</c> from 256).</summary>
    private PickleWriter Get(long index)
    {
        if (index < 256)
        {
            _out.WriteByte((byte)'h'); // BINGET
            _out.WriteByte((byte)index);
        }
        else
        {
            _out.WriteByte((byte)'j'); // LONG_BINGET
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)index);
            _out.Write(b);
        }
        return this;
    }

    private void WriteAscii(string text)
    {
        foreach (var c in text)
            if (c is '\n' or > '\x7f') throw new ArgumentException($"a pickle global's name must be ASCII without newlines: '{text}'", nameof(text));
        _out.Write(Encoding.ASCII.GetBytes(text));
    }
}
