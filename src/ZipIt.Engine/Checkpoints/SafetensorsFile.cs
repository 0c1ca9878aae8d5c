using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Checkpoints;

/// <summary>
/// One .safetensors file, opened lazily: <see cref="Open"/> reads and validates only the header;
/// <see cref="Read(string)"/> then reads one tensor's bytes straight from disk into a new tensor.
/// </summary>
/// <remarks>
/// Layout (huggingface/safetensors): a little-endian u64 N, N bytes of UTF-8 JSON (the header), then
/// the data buffer. Validation follows the reference reader: at most 100,000,000 header bytes, no
/// duplicate keys, every tensor's span sized exactly shape × element size, and spans that tile the
/// whole data buffer with no overlap, gap or trailing bytes. Every failure is a one-line
/// <see cref="ZipItException"/> with exit code 3 that names the file (and the tensor).
/// The file stays open (shared for reading) until <see cref="Dispose"/>. Tensor bytes are
/// little-endian; big-endian hosts are not supported.
/// </remarks>
public sealed class SafetensorsFile : IDisposable, ITensorFile
{
    /// <summary>The reference library's header cap (<c>MAX_HEADER_SIZE</c>).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>Bytes read per call when filling a tensor (keeps each span well under 2 GiB).</summary>
    internal const int DefaultChunkBytes = 64 << 20;

    private const string MetadataKey = "__metadata__";

    private readonly SafeFileHandle _handle;
    private readonly string _display;
    private readonly Dictionary<string, TensorEntry> _byName;
    private bool _disposed;

    private SafetensorsFile(string fullPath, string display, SafeFileHandle handle, long fileLength, long dataStart,
        Dictionary<string, string> metadata, List<TensorEntry> entries)
    {
        Path = fullPath;
        _display = display;
        _handle = handle;
        FileLength = fileLength;
        DataStart = dataStart;
        Metadata = metadata;
        Entries = entries;
        _byName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
    }

    /// <summary>The full path of the file.</summary>
    public string Path { get; }

    /// <summary>The file's length in bytes when it was opened.</summary>
    public long FileLength { get; }

    /// <summary>Absolute offset of the data buffer: 8 + the header length.</summary>
    public long DataStart { get; }

    /// <summary>The header's <c>__metadata__</c> map; empty when there is none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Every tensor, in the order of their data in the file.</summary>
    public IReadOnlyList<TensorEntry> Entries { get; }

    /// <summary>Opens <paramref name="path"/> and validates its header; reads no tensor data.</summary>
    /// <exception cref="ZipItException">Exit code 3: missing, unreadable or malformed file.</exception>
    public static SafetensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Open(System.IO.Path.GetFullPath(path), path);
    }

    /// <summary>Opens <paramref name="full"/>; errors name it as <paramref name="path"/> (the user's spelling).</summary>
    internal static SafetensorsFile Open(string full, string path)
    {
        if (Directory.Exists(full)) throw CheckpointErrors.Input(path, "is a directory, not a .safetensors file");
        SpecialFiles.RequireRegular(full, path);
        if (!File.Exists(full)) throw CheckpointErrors.Input(path, "file not found");

        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(full, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CheckpointErrors.Input(path, $"cannot open: {e.Message}", e);
        }

        try
        {
            return ReadHeader(full, path, handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    IReadOnlyList<string> ITensorFile.Notes => [];

    Tensor ITensorFile.Read(TensorEntry entry) => Read(entry, DefaultChunkBytes);

    /// <summary>True if the file holds a tensor named <paramref name="name"/>.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>Looks a tensor up by name (ordinal).</summary>
    public bool TryGetEntry(string name, [MaybeNullWhen(false)] out TensorEntry entry) => _byName.TryGetValue(name, out entry);

    /// <summary>The entry of <paramref name="name"/>.</summary>
    /// <exception cref="ZipItException">Exit code 3: no such tensor.</exception>
    public TensorEntry GetEntry(string name) =>
        _byName.TryGetValue(name, out var e) ? e : throw CheckpointErrors.Input(_display, $"no tensor named {CheckpointErrors.Quote(name)}");

    /// <summary>
    /// Reads one tensor: a new contiguous CPU tensor of the entry's dtype and shape, filled by
    /// positioned reads of just its bytes. The caller owns (disposes) it.
    /// </summary>
    /// <exception cref="ZipItException">Exit code 3: no such tensor, or the file changed or cannot be read.</exception>
    public Tensor Read(string name) => Read(GetEntry(name), DefaultChunkBytes);

    internal Tensor Read(TensorEntry entry, int chunkBytes)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_byName.TryGetValue(entry.Name, out var own) || own != entry)
            throw new ArgumentException($"entry {entry.Name} does not belong to {Path}", nameof(entry));

        var tensor = torch.empty(entry.Shape, entry.ScalarType);
        try
        {
            if (entry.ByteLength > 0) Fill(tensor, entry, chunkBytes);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _handle.Dispose();
    }

    private void Fill(Tensor tensor, TensorEntry entry, int chunkBytes)
    {
        var elementSize = SafetensorsDType.ElementSize(entry.DType);
        var total = entry.NumElements;
        var perChunk = Math.Max(1, chunkBytes / elementSize);
        if (total <= perChunk)
        {
            ReadAt(tensor.bytes, entry.Begin, entry);
            return;
        }

        // Chunks are views of the tensor's own memory: the file's bytes are copied once, into it.
        using var flat = tensor.view(-1);
        long done = 0, offset = entry.Begin;
        while (done < total)
        {
            var count = Math.Min(perChunk, total - done);
            using var slice = flat.narrow(0, done, count);
            ReadAt(slice.bytes, offset, entry);
            done += count;
            offset += count * elementSize;
        }
    }

    private void ReadAt(Span<byte> destination, long offset, TensorEntry entry)
    {
        try
        {
            while (!destination.IsEmpty)
            {
                var n = RandomAccess.Read(_handle, destination, offset);
                if (n == 0)
                {
                    throw CheckpointErrors.Input(_display,
                        $"tensor {CheckpointErrors.Quote(entry.Name)}: the file ends at byte {offset}, inside the tensor's data (was it changed after it was opened?)");
                }
                destination = destination[n..];
                offset += n;
            }
        }
        catch (IOException e)
        {
            throw CheckpointErrors.Input(_display, $"tensor {CheckpointErrors.Quote(entry.Name)}: cannot read: {e.Message}", e);
        }
    }

    // ---- header -------------------------------------------------------------------------------

    private static SafetensorsFile ReadHeader(string full, string display, SafeFileHandle handle)
    {
        long fileLength;
        byte[] header;
        try
        {
            fileLength = RandomAccess.GetLength(handle);
            if (fileLength < 8)
                throw CheckpointErrors.Input(display, $"is not a safetensors file: it is {fileLength} bytes long, shorter than the 8-byte header length field");

            Span<byte> lengthField = stackalloc byte[8];
            ReadExactly(handle, lengthField, 0, display);
            var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthField);
            if (headerLength > MaxHeaderBytes)
                throw CheckpointErrors.Input(display, $"header length {headerLength} is over the {MaxHeaderBytes:N0}-byte limit (not a safetensors file, or corrupt)");
            if ((long)headerLength > fileLength - 8)
                throw CheckpointErrors.Input(display, $"header length {headerLength} runs past the end of the file ({fileLength} bytes; truncated?)");

            header = new byte[headerLength];
            ReadExactly(handle, header, 8, display);
        }
        catch (IOException e)
        {
            throw CheckpointErrors.Input(display, $"cannot read: {e.Message}", e);
        }

        var dataStart = 8 + header.LongLength;
        var (metadata, raw) = ParseHeader(header, display);
        var entries = CheckLayout(raw, fileLength - dataStart, dataStart, full, display);
        return new SafetensorsFile(full, display, handle, fileLength, dataStart, metadata, entries);
    }

    private static void ReadExactly(SafeFileHandle handle, Span<byte> destination, long offset, string display)
    {
        while (!destination.IsEmpty)
        {
            var n = RandomAccess.Read(handle, destination, offset);
            if (n == 0) throw CheckpointErrors.Input(display, $"the file ends early, at byte {offset}");
            destination = destination[n..];
            offset += n;
        }
    }

    private readonly record struct RawEntry(string Name, string DType, int ElementSize, long[] Shape, long Begin, long End);

    private static (Dictionary<string, string>, List<RawEntry>) ParseHeader(byte[] header, string file)
    {
        if (!Utf8.IsValid(header)) throw CheckpointErrors.Input(file, "header is not valid UTF-8");

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var entries = new List<RawEntry>();
        // System.Text.Json keeps the last of duplicate keys; a hand-driven reader sees them all.
        var reader = new Utf8JsonReader(header, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        try
        {
            if (!reader.Read()) throw CheckpointErrors.Input(file, "header is empty");
            if (reader.TokenType != JsonTokenType.StartObject)
                throw CheckpointErrors.Input(file, $"header is not a JSON object (it is a JSON {Describe(reader.TokenType)})");

            var keys = new HashSet<string>(StringComparer.Ordinal);
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                var key = reader.GetString()!;
                if (!keys.Add(key)) throw CheckpointErrors.Input(file, $"header has duplicate key {CheckpointErrors.Quote(key)}");
                reader.Read();
                if (key == MetadataKey) ParseMetadata(ref reader, metadata, file);
                else entries.Add(ParseEntry(ref reader, key, file));
            }

            // Anything but JSON whitespace after the object makes the reader throw.
            if (reader.Read()) throw CheckpointErrors.Input(file, "header has data after the JSON object");
        }
        catch (JsonException e)
        {
            throw CheckpointErrors.Input(file, $"header is not valid JSON: {e.Message}", e);
        }
        catch (InvalidOperationException e) // e.g. an escaped lone surrogate in a string
        {
            throw CheckpointErrors.Input(file, $"header is not valid JSON: {e.Message}", e);
        }

        return (metadata, entries);
    }

    private static void ParseMetadata(ref Utf8JsonReader reader, Dictionary<string, string> metadata, string file)
    {
        if (reader.TokenType == JsonTokenType.Null) return; // the reference reader takes null as "none"
        if (reader.TokenType != JsonTokenType.StartObject)
            throw CheckpointErrors.Input(file, $"__metadata__ must be a JSON object of strings, not a JSON {Describe(reader.TokenType)}");

        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var key = reader.GetString()!;
            reader.Read();
            if (reader.TokenType != JsonTokenType.String)
                throw CheckpointErrors.Input(file, $"__metadata__ value of {CheckpointErrors.Quote(key)} is a JSON {Describe(reader.TokenType)}; only strings are allowed");
            if (!metadata.TryAdd(key, reader.GetString()!))
                throw CheckpointErrors.Input(file, $"__metadata__ has duplicate key {CheckpointErrors.Quote(key)}");
        }
    }

    private static RawEntry ParseEntry(ref Utf8JsonReader reader, string name, string file)
    {
        var tensor = $"tensor {CheckpointErrors.Quote(name)}";
        if (reader.TokenType != JsonTokenType.StartObject)
            throw CheckpointErrors.Input(file, $"{tensor}: its header value is a JSON {Describe(reader.TokenType)}, not an object");

        string? dtype = null;
        long[]? shape = null, offsets = null;
        var fields = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var field = reader.GetString()!;
            if (!fields.Add(field)) throw CheckpointErrors.Input(file, $"{tensor}: duplicate field {CheckpointErrors.Quote(field)}");
            reader.Read();
            switch (field)
            {
                case "dtype":
                    if (reader.TokenType != JsonTokenType.String)
                        throw CheckpointErrors.Input(file, $"{tensor}: dtype is a JSON {Describe(reader.TokenType)}, not a string");
                    dtype = reader.GetString()!;
                    break;
                case "shape":
                    shape = ReadIntegers(ref reader, file, tensor, "shape");
                    break;
                case "data_offsets":
                    offsets = ReadIntegers(ref reader, file, tensor, "data_offsets");
                    break;
                default:
                    reader.Skip(); // the reference reader ignores unknown fields too
                    break;
            }
        }

        if (dtype is null) throw CheckpointErrors.Input(file, $"{tensor}: no dtype");
        if (shape is null) throw CheckpointErrors.Input(file, $"{tensor}: no shape");
        if (offsets is null) throw CheckpointErrors.Input(file, $"{tensor}: no data_offsets");
        if (offsets.Length != 2)
            throw CheckpointErrors.Input(file, $"{tensor}: data_offsets must be [begin, end], but it holds {offsets.Length} number(s)");
        foreach (var d in shape)
        {
            if (d < 0) throw CheckpointErrors.Input(file, $"{tensor}: negative dimension {d} in shape [{string.Join(", ", shape)}]");
        }
        if (offsets[0] < 0 || offsets[1] < 0)
            throw CheckpointErrors.Input(file, $"{tensor}: negative data_offsets [{offsets[0]}, {offsets[1]}]");
        var elementSize = SafetensorsDType.CheckReadable(dtype, file, name);
        return new RawEntry(name, dtype, elementSize, shape, offsets[0], offsets[1]);
    }

    private static long[] ReadIntegers(ref Utf8JsonReader reader, string file, string tensor, string field)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw CheckpointErrors.Input(file, $"{tensor}: {field} is a JSON {Describe(reader.TokenType)}, not an array of integers");
        var values = new List<long>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number)
                throw CheckpointErrors.Input(file, $"{tensor}: {field} holds a JSON {Describe(reader.TokenType)}; only integers are allowed");
            if (!reader.TryGetInt64(out var v))
                throw CheckpointErrors.Input(file, $"{tensor}: {field} holds {System.Text.Encoding.UTF8.GetString(reader.ValueSpan)}, which is not an integer in range");
            values.Add(v);
        }
        return values.ToArray();
    }

    private static List<TensorEntry> CheckLayout(List<RawEntry> raw, long bufferLength, long dataStart, string full, string file)
    {
        foreach (var e in raw)
        {
            var tensor = $"tensor {CheckpointErrors.Quote(e.Name)}";
            var offsets = $"data_offsets [{e.Begin}, {e.End}]";
            if (e.Begin > e.End) throw CheckpointErrors.Input(file, $"{tensor}: {offsets}: begin is after end");

            long needed;
            try
            {
                long count = 1;
                foreach (var d in e.Shape) count = checked(count * d);
                needed = checked(count * e.ElementSize);
            }
            catch (OverflowException)
            {
                throw CheckpointErrors.Input(file, $"{tensor}: shape [{string.Join(", ", e.Shape)}] is too large (its byte size overflows)");
            }

            if (e.End - e.Begin != needed)
            {
                throw CheckpointErrors.Input(file,
                    $"{tensor}: {offsets} span {e.End - e.Begin} bytes, but {e.DType}[{string.Join(", ", e.Shape)}] needs {needed}");
            }
            if (e.End > bufferLength)
                throw CheckpointErrors.Input(file, $"{tensor}: {offsets} run past the end of the data buffer ({bufferLength} bytes; truncated?)");
        }

        var ordered = raw.OrderBy(e => e.Begin).ThenBy(e => e.End).ThenBy(e => e.Name, StringComparer.Ordinal).ToList();
        long covered = 0;
        string? previous = null;
        foreach (var e in ordered)
        {
            if (e.Begin < covered)
            {
                throw CheckpointErrors.Input(file,
                    $"tensors {CheckpointErrors.Quote(previous!)} and {CheckpointErrors.Quote(e.Name)} overlap in the data buffer (the second begins at {e.Begin}, the first ends at {covered})");
            }
            if (e.Begin > covered)
            {
                throw CheckpointErrors.Input(file,
                    $"gap in the data buffer: bytes {covered}..{e.Begin} before tensor {CheckpointErrors.Quote(e.Name)} belong to no tensor");
            }
            covered = e.End;
            previous = e.Name;
        }
        if (covered < bufferLength)
        {
            throw CheckpointErrors.Input(file,
                $"trailing bytes: the last {bufferLength - covered} bytes of the data buffer belong to no tensor");
        }

        return ordered.Select(e => new TensorEntry(e.Name, e.DType, e.Shape, full, dataStart + e.Begin, dataStart + e.End)).ToList();
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "object",
        JsonTokenType.StartArray => "array",
        JsonTokenType.String => "string",
        JsonTokenType.Number => "number",
        JsonTokenType.True or JsonTokenType.False => "boolean",
        JsonTokenType.Null => "null",
        _ => token.ToString(),
    };
}
