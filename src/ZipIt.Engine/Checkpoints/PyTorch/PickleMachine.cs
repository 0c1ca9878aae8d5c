using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace ZipIt.Engine.Checkpoints.PyTorch;

/// <summary>
/// A pickle virtual machine that can run no code: it builds only plain values (None, bool, int,
/// float, str, bytes, tuple, list, dict) by itself and hands every <c>GLOBAL</c>, call
/// (<c>REDUCE</c>, <c>NEWOBJ</c>), <c>BUILD</c> and persistent id to a <see cref="PicklePolicy"/>,
/// which refuses what it does not know. Opcodes that exist only to run or import code (<c>INST</c>,
/// <c>OBJ</c>, <c>EXT*</c>, <c>NEWOBJ_EX</c>, out-of-band buffers) are refused outright.
/// </summary>
/// <remarks>
/// Values: tuples are <c>object?[]</c>, lists and sets <see cref="List{T}"/>, dicts
/// <see cref="PickleDict"/>, ints <see cref="long"/> (or <see cref="BigInteger"/> past 64 bits),
/// floats <see cref="double"/>, str <see cref="string"/>, bytes <c>byte[]</c>. Every failure is a
/// <see cref="PickleException"/>; the caller turns it into a one-line input error.
/// </remarks>
internal sealed class PickleMachine
{
    private readonly byte[] _data;
    private readonly PicklePolicy _policy;
    private int _pos;
    private readonly List<object?> _stack = [];
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = [];

    private PickleMachine(byte[] data, int start, PicklePolicy policy)
    {
        _data = data;
        _pos = start;
        _policy = policy;
    }

    private static readonly object Mark = new();

    /// <summary>Runs one pickle from <paramref name="start"/> to its STOP; returns its value and the offset after STOP.</summary>
    public static (object? Value, int End) Load(byte[] data, int start, PicklePolicy policy)
    {
        var machine = new PickleMachine(data, start, policy);
        var value = machine.Run();
        return (value, machine._pos);
    }

    private object? Run()
    {
        while (true)
        {
            if (_pos >= _data.Length) throw new PickleException("the pickle ends without a STOP opcode (truncated?)") { Truncated = true };
            var at = _pos;
            var op = _data[_pos++];
            switch (op)
            {
                case 0x80: // PROTO
                    var protocol = U8();
                    if (protocol > 5) throw new PickleException($"pickle protocol {protocol} is unknown");
                    break;
                case 0x95: Take(8); break; // FRAME: a length hint only
                case (byte)'.': // STOP
                    if (_stack.Count != 1 || _marks.Count != 0) throw new PickleException("the pickle stops with a malformed stack");
                    return _stack[0] is var v && ReferenceEquals(v, Mark) ? throw new PickleException("the pickle stops on a MARK") : v;

                case (byte)'(': _marks.Push(_stack.Count); _stack.Add(Mark); break;
                case (byte)'0': Pop(); break; // POP
                case (byte)'1': PopMark(); break; // POP_MARK
                case (byte)'2': Push(Peek()); break; // DUP

                case (byte)'N': Push(null); break;
                case 0x88: Push(true); break; // NEWTRUE
                case 0x89: Push(false); break; // NEWFALSE
                case (byte)'K': Push((long)U8()); break; // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break; // BININT2
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break; // BININT
                case 0x8a: Push(Long(U8())); break; // LONG1
                case 0x8b: Push(Long(Length(BinaryPrimitives.ReadInt32LittleEndian(Take(4))))); break; // LONG4
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break; // BINFLOAT
                case (byte)'I': Push(TextInt()); break; // INT (protocol 0; "00"/"01" are False/True)
                case (byte)'L': Push(TextLong()); break; // LONG (protocol 0)
                case (byte)'F': Push(TextFloat()); break; // FLOAT (protocol 0)

                case (byte)'X': Push(Utf8(Length(BinaryPrimitives.ReadUInt32LittleEndian(Take(4))))); break; // BINUNICODE
                case 0x8c: Push(Utf8(U8())); break; // SHORT_BINUNICODE
                case 0x8d: Push(Utf8(Length(BinaryPrimitives.ReadUInt64LittleEndian(Take(8))))); break; // BINUNICODE8
                case (byte)'U': Push(Latin1(U8())); break; // SHORT_BINSTRING (a Python 2 str)
                case (byte)'T': Push(Latin1(Length(BinaryPrimitives.ReadInt32LittleEndian(Take(4))))); break; // BINSTRING
                case (byte)'C': Push(Take(U8()).ToArray()); break; // SHORT_BINBYTES
                case (byte)'B': Push(Take(Length(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))).ToArray()); break; // BINBYTES
                case 0x8e: Push(Take(Length(BinaryPrimitives.ReadUInt64LittleEndian(Take(8)))).ToArray()); break; // BINBYTES8

                case (byte)')': Push(Array.Empty<object?>()); break; // EMPTY_TUPLE
                case 0x85: Push(new[] { Pop() }); break; // TUPLE1
                case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; } // TUPLE2
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; } // TUPLE3
                case (byte)'t': Push(PopMark().ToArray()); break; // TUPLE
                case (byte)']': Push(new List<object?>()); break; // EMPTY_LIST
                case (byte)'l': Push(PopMark()); break; // LIST
                case (byte)'a': { var item = Pop(); AsList(Peek(), "APPEND").Add(item); break; }
                case (byte)'e': { var items = PopMark(); AsList(Peek(), "APPENDS").AddRange(items); break; }
                case (byte)'}': Push(new PickleDict()); break; // EMPTY_DICT
                case (byte)'d': { var items = PopMark(); var d = new PickleDict(); SetItems(d, items); Push(d); break; } // DICT
                case (byte)'s': { var value = Pop(); var key = Pop(); AsDict(Peek(), "SETITEM").Set(key, value); break; }
                case (byte)'u': { var items = PopMark(); SetItems(AsDict(Peek(), "SETITEMS"), items); break; }
                case 0x8f: Push(new List<object?>()); break; // EMPTY_SET: a set of plain values, kept as a list
                case 0x90: { var items = PopMark(); AsList(Peek(), "ADDITEMS").AddRange(items); break; }
                case 0x91: Push(PopMark()); break; // FROZENSET

                case (byte)'p': Memo(TextLong(), Peek()); break; // PUT
                case (byte)'q': Memo(U8(), Peek()); break; // BINPUT
                case (byte)'r': Memo(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)), Peek()); break; // LONG_BINPUT
                case 0x94: Memo(_memo.Count, Peek()); break; // MEMOIZE
                case (byte)'g': Push(Recall(TextLong())); break; // GET
                case (byte)'h': Push(Recall(U8())); break; // BINGET
                case (byte)'j': Push(Recall(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break; // LONG_BINGET

                case (byte)'c': // GLOBAL "module\nname\n"
                {
                    var module = Line();
                    var name = Line();
                    Push(_policy.Global(module, name));
                    break;
                }
                case 0x93: // STACK_GLOBAL
                {
                    var name = Pop() as string ?? throw new PickleException("STACK_GLOBAL needs two strings");
                    var module = Pop() as string ?? throw new PickleException("STACK_GLOBAL needs two strings");
                    Push(_policy.Global(module, name));
                    break;
                }
                case (byte)'R': // REDUCE
                {
                    var args = Pop() as object?[] ?? throw new PickleException("REDUCE needs a tuple of arguments");
                    var callable = Pop();
                    Push(_policy.Call(callable, args));
                    break;
                }
                case 0x81: // NEWOBJ
                {
                    var args = Pop() as object?[] ?? throw new PickleException("NEWOBJ needs a tuple of arguments");
                    var cls = Pop();
                    Push(_policy.New(cls, args));
                    break;
                }
                case (byte)'b': // BUILD
                {
                    var state = Pop();
                    _policy.Build(Peek(), state);
                    break;
                }
                case (byte)'Q': Push(_policy.PersistentLoad(Pop())); break; // BINPERSID
                case (byte)'P': Push(_policy.PersistentLoad(Line())); break; // PERSID

                default:
                    throw PickleException.Refuse($"the pickle uses opcode {Name(op)} (at byte {at})");
            }
        }
    }

    private static string Name(byte op) => op switch
    {
        (byte)'i' => "INST",
        (byte)'o' => "OBJ",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        0x92 => "NEWOBJ_EX",
        0x96 => "BYTEARRAY8",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        (byte)'S' => "STRING",
        (byte)'V' => "UNICODE",
        _ => $"0x{op:x2}",
    };

    // ---- stack ----------------------------------------------------------------------------------

    private void Push(object? value) => _stack.Add(value);

    private object? Pop()
    {
        if (_stack.Count == 0 || ReferenceEquals(_stack[^1], Mark)) throw new PickleException("the pickle pops an empty stack");
        var v = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return v;
    }

    private object? Peek()
    {
        if (_stack.Count == 0 || ReferenceEquals(_stack[^1], Mark)) throw new PickleException("the pickle reads an empty stack");
        return _stack[^1];
    }

    private List<object?> PopMark()
    {
        if (_marks.Count == 0) throw new PickleException("the pickle has no MARK to pop to");
        var at = _marks.Pop();
        var items = _stack.GetRange(at + 1, _stack.Count - at - 1);
        _stack.RemoveRange(at, _stack.Count - at);
        return items;
    }

    private void Memo(long key, object? value) => _memo[key] = value;

    private object? Recall(long key) =>
        _memo.TryGetValue(key, out var v) ? v : throw new PickleException($"the pickle reads memo {key}, which was never stored");

    private static List<object?> AsList(object? target, string op) =>
        target as List<object?> ?? throw new PickleException($"{op} on a {PicklePolicy.Describe(target)}, not a list");

    private static PickleDict AsDict(object? target, string op) =>
        target as PickleDict ?? throw new PickleException($"{op} on a {PicklePolicy.Describe(target)}, not a dict");

    private static void SetItems(PickleDict dict, List<object?> items)
    {
        if (items.Count % 2 != 0) throw new PickleException("SETITEMS with an odd number of items");
        for (var i = 0; i < items.Count; i += 2) dict.Set(items[i], items[i + 1]);
    }

    // ---- bytes ----------------------------------------------------------------------------------

    private byte U8() => Take(1)[0];

    private ReadOnlySpan<byte> Take(int n)
    {
        if (n < 0) throw new PickleException("the pickle holds a negative length");
        if (n > _data.Length - _pos) throw new PickleException("the pickle ends inside an opcode (truncated?)") { Truncated = true };
        var span = _data.AsSpan(_pos, n);
        _pos += n;
        return span;
    }

    private int Length(long n) =>
        n < 0 ? throw new PickleException($"the pickle holds a negative length {n}")
        : n > _data.Length - _pos ? throw new PickleException($"a length of {n} runs past the end of the pickle") { Truncated = true } : (int)n;

    private int Length(ulong n) => n > (ulong)(_data.Length - _pos) ? throw new PickleException($"a length of {n} runs past the end of the pickle") { Truncated = true } : (int)n;

    private string Utf8(int n)
    {
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Take(n));
        }
        catch (DecoderFallbackException)
        {
            throw new PickleException("the pickle holds a string that is not valid UTF-8");
        }
    }

    private string Latin1(int n) => Encoding.Latin1.GetString(Take(n));

    private string Line()
    {
        var end = Array.IndexOf(_data, (byte)'\n', _pos);
        if (end - _pos > 1000 || (end < 0 && _data.Length - _pos > 1000)) throw new PickleException("the pickle has a text line over 1000 bytes");
        if (end < 0) throw new PickleException("the pickle ends inside a text opcode (truncated?)") { Truncated = true };
        var s = Encoding.ASCII.GetString(_data, _pos, end - _pos);
        _pos = end + 1;
        return s;
    }

    private object Long(int n)
    {
        if (n == 0) return 0L;
        var value = new BigInteger(Take(n), isUnsigned: false, isBigEndian: false);
        // The cast to object keeps a long a long: the conditional's type would otherwise be BigInteger.
        return value >= long.MinValue && value <= long.MaxValue ? (object)(long)value : value;
    }

    private object TextInt()
    {
        var s = Line();
        if (s == "00") return false;
        if (s == "01") return true;
        return long.TryParse(s, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var v)
            ? v : throw new PickleException("the pickle holds a malformed INT");
    }

    private long TextLong()
    {
        var s = Line().TrimEnd('L');
        return long.TryParse(s, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var v)
            ? v : throw new PickleException("the pickle holds a malformed integer");
    }

    private double TextFloat() =>
        double.TryParse(Line(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v)
            ? v : throw new PickleException("the pickle holds a malformed FLOAT");
}

/// <summary>A pickled dict (or OrderedDict): insertion-ordered; keys are plain values.</summary>
internal sealed class PickleDict
{
    private readonly Dictionary<object, int> _index = new();
    private readonly List<KeyValuePair<object?, object?>> _items = [];

    /// <summary>The entries in insertion order (a repeated key keeps its first place, as in Python).</summary>
    public IReadOnlyList<KeyValuePair<object?, object?>> Items => _items;

    /// <summary>Instance attributes set by BUILD (an OrderedDict's <c>_metadata</c>); kept, never run.</summary>
    public PickleDict? State { get; set; }

    public int Count => _items.Count;

    public void Set(object? key, object? value)
    {
        var k = key ?? NullKey;
        if (k is not (string or long or bool or double or BigInteger or object?[]) && k != NullKey)
            throw new PickleException($"a dict key is a {PicklePolicy.Describe(key)}");
        if (k is object?[]) k = new TupleKey((object?[])k);
        if (_index.TryGetValue(k, out var i)) _items[i] = new(key, value);
        else
        {
            _index[k] = _items.Count;
            _items.Add(new(key, value));
        }
    }

    public bool TryGetValue(string key, out object? value)
    {
        if (_index.TryGetValue(key, out var i))
        {
            value = _items[i].Value;
            return true;
        }
        value = null;
        return false;
    }

    private static readonly object NullKey = new();

    /// <summary>Tuples as keys compare by value, as in Python (optimizer state uses them rarely, but may).</summary>
    private sealed class TupleKey(object?[] items) : IEquatable<TupleKey>
    {
        private readonly object?[] _items = items;

        public bool Equals(TupleKey? other) => other is not null && _items.SequenceEqual(other._items);

        public override bool Equals(object? obj) => Equals(obj as TupleKey);

        public override int GetHashCode()
        {
            var h = new HashCode();
            foreach (var i in _items) h.Add(i);
            return h.ToHashCode();
        }
    }
}

/// <summary>A malformed or refused pickle; the message says what, without the file name.</summary>
internal sealed class PickleException(string message, bool refused = false) : Exception(message)
{
    /// <summary>True when the pickle is well formed but asks for something not accepted (code, an unknown class).</summary>
    public bool Refused { get; } = refused;

    /// <summary>True when the bytes ran out before STOP: more of the file may complete the pickle.</summary>
    public bool Truncated { get; init; }

    /// <summary>A refusal: <paramref name="what"/> reads "the pickle calls os.system".</summary>
    public static PickleException Refuse(string what) => new(what, refused: true);
}
