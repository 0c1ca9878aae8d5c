using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;

namespace ZipIt.Engine.Checkpoints.PyTorch;

/// <summary>
/// A <c>torch.save</c> file holding a state dict, read without running anything it holds: the zip
/// format (PyTorch 1.6 and later) or the legacy format (a row of pickles, then raw storages).
/// Opening unpickles <c>data.pkl</c> with <see cref="TorchPicklePolicy"/> and locates every storage;
/// <see cref="Read"/> then reads just one tensor's bytes from the file.
/// </summary>
/// <remarks>
/// The state dict is the top-level dict when its values are tensors, or the dict under
/// <c>state_dict</c>, <c>model_state_dict</c>, <c>model</c> or <c>module</c> of a training
/// checkpoint; every other entry (epoch, optimizer, ...) is left out and named in <see cref="Notes"/>.
/// </remarks>
internal sealed class PyTorchFile : ITensorFile
{
    /// <summary>Keys under which training scripts keep the state dict, in the order tried.</summary>
    public static readonly string[] WrapperKeys = ["state_dict", "model_state_dict", "model", "module"];

    private const int MaxPickleBytes = 256 << 20;
    private static readonly BigInteger LegacyMagic = BigInteger.Parse("119547037146038801333356");
    private const int LegacyProtocol = 1001;

    private readonly SafeFileHandle _handle;
    private readonly string _display;
    private readonly Dictionary<string, (TensorEntry Entry, TensorRef Ref, long StorageData)> _byName;
    private bool _disposed;

    private PyTorchFile(SafeFileHandle handle, string display, bool legacy, List<(TensorEntry, TensorRef, long)> tensors, List<string> notes)
    {
        _handle = handle;
        _display = display;
        IsLegacy = legacy;
        Entries = tensors.Select(t => t.Item1).ToList();
        _byName = tensors.ToDictionary(t => t.Item1.Name, t => t, StringComparer.Ordinal);
        Notes = notes;
    }

    /// <summary>True for the legacy (pre-1.6) format, false for the zip format.</summary>
    public bool IsLegacy { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; } = new Dictionary<string, string>();

    public IReadOnlyList<TensorEntry> Entries { get; }

    public IReadOnlyList<string> Notes { get; }

    /// <summary>True when <paramref name="head"/> (a file's first bytes) starts a zip archive.</summary>
    public static bool IsZip(ReadOnlySpan<byte> head) => head.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(head) == 0x04034b50;

    /// <summary>True when <paramref name="head"/> starts a binary pickle and not a safetensors header (whose byte 8 is '{').</summary>
    public static bool IsPickle(ReadOnlySpan<byte> head) =>
        head.Length >= 2 && head[0] == 0x80 && head[1] is >= 2 and <= 5
        && !(head.Length >= 9 && head[8] == (byte)'{' && head[4] == 0 && head[5] == 0 && head[6] == 0 && head[7] == 0);

    /// <summary>Opens <paramref name="full"/> (zip or legacy); errors name it as <paramref name="display"/>.</summary>
    public static PyTorchFile Open(string full, string display)
    {
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(full, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CheckpointErrors.Input(display, $"cannot open: {e.Message}", e);
        }
        try
        {
            var length = RandomAccess.GetLength(handle);
            var head = new byte[Math.Min(length, 16)];
            ReadExactly(handle, head, 0, display, "the file");
            var notes = new List<string>();
            var (root, locate) = IsZip(head) ? OpenZip(handle, length, display) : OpenLegacy(handle, length, display);
            var tensors = Collect(root, locate, full, display, notes);
            return new PyTorchFile(handle, display, !IsZip(head), tensors, notes);
        }
        catch (PickleException e)
        {
            handle.Dispose();
            throw e.Refused
                ? CheckpointErrors.Input(display, $"refusing to load: {e.Message} (only tensor rebuilds and plain containers are accepted)")
                : CheckpointErrors.Input(display, $"not a readable PyTorch checkpoint: {e.Message}");
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            handle.Dispose();
            throw CheckpointErrors.Input(display, $"not a readable PyTorch checkpoint: {e.Message}", e);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    public bool TryGetEntry(string name, [MaybeNullWhen(false)] out TensorEntry entry)
    {
        var found = _byName.TryGetValue(name, out var t);
        entry = found ? t.Entry : null;
        return found;
    }

    public Tensor Read(TensorEntry entry)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_byName.TryGetValue(entry.Name, out var t) || t.Entry != entry)
            throw new ArgumentException($"entry {entry.Name} does not belong to {_display}", nameof(entry));
        var type = entry.ScalarType;
        var size = SafetensorsDType.ElementSize(entry.DType);
        var tensor = torch.empty(entry.Shape, type);
        try
        {
            if (entry.NumElements == 0) return tensor;
            var start = t.StorageData + t.Ref.Offset * size;
            if (IsContiguous(t.Ref.Shape, t.Ref.Stride))
            {
                Fill(tensor, start, entry.Name);
                return tensor;
            }
            // A strided view: read the span of storage it touches, once, and copy the view out of it.
            using var span = torch.empty(Extent(t.Ref), type);
            Fill(span, start, entry.Name);
            using var view = span.as_strided(t.Ref.Shape, t.Ref.Stride, 0);
            tensor.copy_(view);
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

    // ---- zip format -------------------------------------------------------------------------------

    private static (object? Root, Func<StorageRef, long> Locate) OpenZip(SafeFileHandle handle, long length, string display)
    {
        var members = ZipDirectory.Read(handle, length);
        var pickles = members.Keys.Where(n => n.EndsWith("/data.pkl", StringComparison.Ordinal) && n.IndexOf('/') == n.Length - 9).ToList();
        if (pickles.Count != 1)
            throw new InvalidDataException(pickles.Count == 0 ? "a zip archive without a data.pkl (not written by torch.save?)" : "a zip archive with more than one data.pkl");
        var prefix = pickles[0][..^"data.pkl".Length];
        if (members.TryGetValue(prefix + "byteorder", out var order) && order.Size <= 16)
        {
            var text = System.Text.Encoding.ASCII.GetString(ReadMember(handle, order, display));
            if (text != "little") throw new InvalidDataException($"its tensors are stored {text}-endian; zipit reads little-endian data only");
        }
        var pickle = ReadMember(handle, members[pickles[0]], display);

        var storages = new Dictionary<string, StorageRef>(StringComparer.Ordinal);
        var data = new Dictionary<StorageRef, long>(ReferenceEqualityComparer.Instance);
        var policy = new TorchPicklePolicy(pid =>
        {
            // ('storage', storage_type, key, location, numel)
            if (pid is not object?[] { Length: 5 } id || id[0] is not "storage" || id[2] is not string key || id[4] is not (long or BigInteger))
                throw new PickleException($"an unexpected persistent id ({PicklePolicy.Describe(pid)})");
            var dtype = StorageDType(id[1]);
            var numel = StorageSize(key, id[4], dtype);
            if (storages.TryGetValue(key, out var known))
            {
                if (known.DType != dtype || known.Size != numel) throw new PickleException($"storage {key} is described two ways");
                return known;
            }
            if (!members.TryGetValue(prefix + "data/" + key, out var member)) throw new InvalidDataException($"storage data/{key} is missing from the archive");
            if (member.Method != 0) throw new InvalidDataException($"storage data/{key} is compressed; torch.save stores storages uncompressed");
            var bytes = numel * SafetensorsDType.ElementSize(dtype);
            if (member.Size != bytes) throw new InvalidDataException($"storage data/{key} holds {member.Size} bytes, not the {bytes} that {numel} {dtype} elements take");
            var storage = new StorageRef(key, dtype, numel);
            storages.Add(key, storage);
            data.Add(storage, member.DataOffset);
            return storage;
        });
        var (root, _) = PickleMachine.Load(pickle, 0, policy);
        return (root, s => data[s]);
    }

    private static byte[] ReadMember(SafeFileHandle handle, ZipMember member, string display)
    {
        if (member.Method != 0) throw new InvalidDataException($"{member.Name} is compressed; torch.save stores it uncompressed");
        if (member.Size > MaxPickleBytes) throw new InvalidDataException($"{member.Name} is {member.Size} bytes, over the {MaxPickleBytes:N0}-byte limit");
        var bytes = new byte[member.Size];
        ReadExactly(handle, bytes, member.DataOffset, display, member.Name);
        return bytes;
    }

    // ---- legacy format ------------------------------------------------------------------------------

    private static (object? Root, Func<StorageRef, long> Locate) OpenLegacy(SafeFileHandle handle, long length, string display)
    {
        // The pickles come first and are small; the storages follow. Read a prefix that holds the
        // pickles, growing it only if a pickle runs past it.
        var window = (int)Math.Min(length, 1 << 20);
        while (true)
        {
            var bytes = new byte[window];
            ReadExactly(handle, bytes, 0, display, "the file");
            try
            {
                return ParseLegacy(handle, length, bytes, display);
            }
            catch (PickleException e) when (e.Truncated && window < Math.Min(length, MaxPickleBytes))
            {
                window = (int)Math.Min(Math.Min(length, MaxPickleBytes), (long)window * 4);
            }
        }
    }

    private static (object? Root, Func<StorageRef, long> Locate) ParseLegacy(SafeFileHandle handle, long length, byte[] bytes, string display)
    {
        var plain = new TorchPicklePolicy(_ => throw new PickleException("a persistent id outside the state dict"));
        var (magic, p) = PickleMachine.Load(bytes, 0, plain);
        if (!(magic is BigInteger m && m == LegacyMagic))
            throw new PickleException("a pickle that is not a torch.save file (no PyTorch magic number)");
        var (protocol, p2) = PickleMachine.Load(bytes, p, plain);
        if (protocol is not long v || v != LegacyProtocol) throw new PickleException($"legacy protocol {PicklePolicy.Describe(protocol)} {protocol}, not {LegacyProtocol}");
        var (sysInfo, p3) = PickleMachine.Load(bytes, p2, plain);
        if (sysInfo is PickleDict info && info.TryGetValue("little_endian", out var little) && little is false)
            throw new InvalidDataException("its tensors are stored big-endian; zipit reads little-endian data only");

        var roots = new Dictionary<string, StorageRef>(StringComparer.Ordinal);
        var views = new Dictionary<string, StorageRef>(StringComparer.Ordinal);
        var policy = new TorchPicklePolicy(pid =>
        {
            // ('storage', storage_type, root_key, location, numel, view_metadata)
            if (pid is not object?[] { Length: 6 } id || id[0] is not "storage" || id[2] is not string key || id[4] is not (long or BigInteger))
            {
                if (pid is object?[] { Length: > 0 } t && t[0] is "module")
                    throw PickleException.Refuse("the pickle holds a whole saved module (save model.state_dict() instead)");
                throw new PickleException($"an unexpected persistent id ({PicklePolicy.Describe(pid)})");
            }
            var dtype = StorageDType(id[1]);
            var numel = StorageSize(key, id[4], dtype);
            if (!roots.TryGetValue(key, out var root)) roots.Add(key, root = new StorageRef(key, dtype, numel));
            else if (root.DType != dtype || root.Size != numel) throw new PickleException($"storage {key} is described two ways");
            if (id[5] is null) return root;
            if (id[5] is not object?[] { Length: 3 } view || view[0] is not string viewKey || view[1] is not long offset || view[2] is not long size
                || offset < 0 || size < 0 || offset + size > numel)
                throw new PickleException($"storage {key} has a malformed view");
            if (!views.TryGetValue(viewKey, out var known)) views.Add(viewKey, known = new StorageRef(viewKey, dtype, size, root, offset));
            return known;
        });
        var (root, p4) = PickleMachine.Load(bytes, p3, policy);
        var (keys, p5) = PickleMachine.Load(bytes, p4, plain);
        if (keys is not List<object?> list || list.Any(k => k is not string)) throw new PickleException("the storage key list is not a list of str");

        // Then, per key in that order: the element count (int64 LE) and the raw elements.
        var data = new Dictionary<string, long>(StringComparer.Ordinal);
        long at = p5;
        var header = new byte[8];
        foreach (var key in list.Cast<string>())
        {
            if (!roots.TryGetValue(key, out var storage)) throw new InvalidDataException($"storage {key} is listed but no tensor uses it");
            if (at > length - 8) throw new InvalidDataException($"the file ends before storage {key}");
            ReadExactly(handle, header, at, display, $"storage {key}");
            var count = BinaryPrimitives.ReadInt64LittleEndian(header);
            if (count != storage.Size) throw new InvalidDataException($"storage {key} holds {count} elements, not {storage.Size}");
            var bytesLong = count * SafetensorsDType.ElementSize(storage.DType);
            if (bytesLong > length - at - 8) throw new InvalidDataException($"storage {key} runs past the end of the file");
            if (!data.TryAdd(key, at + 8)) throw new InvalidDataException($"storage {key} is listed twice");
            at += 8 + bytesLong;
        }
        foreach (var key in roots.Keys)
        {
            if (!data.ContainsKey(key)) throw new InvalidDataException($"storage {key} is used but not in the file");
        }
        return (root, s => s.ViewOf is { } r ? data[r.Key] + s.ViewOffset * SafetensorsDType.ElementSize(s.DType) : data[s.Key]);
    }

    /// <summary>
    /// A storage's element count, refused naming it when it is negative or its bytes would pass
    /// 2⁶³ − 1 (no file holds that much; a smaller count is checked against the file itself).
    /// </summary>
    private static long StorageSize(string key, object? count, string dtype)
    {
        var n = count is long l ? l : (BigInteger)count!;
        if (n < 0) throw new PickleException($"storage {key} declares {n} elements");
        var bytes = n * SafetensorsDType.ElementSize(dtype);
        if (bytes > long.MaxValue)
            throw new PickleException($"storage {key} declares {n} {dtype} elements ({bytes} bytes), more than any file can hold");
        return (long)n;
    }

    private static string StorageDType(object? type)
    {
        if (type is PickleGlobal { Module: "torch" } g && TorchPicklePolicy.StorageTypes.TryGetValue(g.Name, out var code)) return code;
        if (type is PickleGlobal other)
            throw new PickleException($"a tensor storage of type {other.FullName}, which zipit does not support (supported: {string.Join(", ", TorchPicklePolicy.StorageTypes.Keys.Select(k => "torch." + k))})");
        throw new PickleException($"a persistent id whose storage type is a {PicklePolicy.Describe(type)}");
    }

    // ---- the state dict ----------------------------------------------------------------------------

    private static List<(TensorEntry, TensorRef, long)> Collect(object? root, Func<StorageRef, long> locate, string full, string display, List<string> notes)
    {
        if (root is not PickleDict top)
            throw new PickleException($"it holds a {PicklePolicy.Describe(root)}, not a state dict (a dict of tensors)");
        var stateDict = top;
        if (!top.Items.Any(kv => kv.Value is TensorRef))
        {
            var wrapper = WrapperKeys.FirstOrDefault(k => top.TryGetValue(k, out var v) && v is PickleDict d && d.Items.Any(kv => kv.Value is TensorRef));
            if (wrapper is null)
            {
                var keys = string.Join(", ", top.Items.Take(8).Select(kv => Key(kv.Key)));
                throw new PickleException($"it holds no state dict: a dict of {top.Count} entries ({keys}) without tensors, and none of {string.Join(", ", WrapperKeys)} holds a dict of tensors");
            }
            top.TryGetValue(wrapper, out var inner);
            stateDict = (PickleDict)inner!;
            var skipped = top.Items.Where(kv => !(kv.Key is string s && s == wrapper)).Select(kv => Key(kv.Key)).ToList();
            notes.Add($"{display}: read the state dict under '{wrapper}'" + (skipped.Count > 0 ? $"; left out {string.Join(", ", skipped)}" : ""));
        }

        var result = new List<(TensorEntry, TensorRef, long)>();
        var left = new List<string>();
        foreach (var (key, value) in stateDict.Items)
        {
            if (key is not string name || value is not TensorRef t)
            {
                left.Add(Key(key));
                continue;
            }
            var size = SafetensorsDType.ElementSize(t.Storage.DType);
            var elements = t.Shape.Aggregate(BigInteger.One, (a, d) => a * d);
            if (elements * size > long.MaxValue)
                throw new PickleException($"tensor '{name}' has shape [{string.Join(", ", t.Shape)}]: {elements} elements, more than any file can hold");
            var numel = (long)elements;
            if (numel > 0 && t.Offset + Extent(t) > t.Storage.Size)
                throw new PickleException($"tensor '{name}' reaches past the end of its storage ({t.Storage.Size} elements)");
            var begin = locate(t.Storage) + t.Offset * size;
            result.Add((new TensorEntry(name, t.Storage.DType, t.Shape, full, begin, begin + numel * size), t, locate(t.Storage)));
        }
        if (left.Count > 0) notes.Add($"{display}: left out {left.Count} entries that are not tensors: {string.Join(", ", left.Take(8))}{(left.Count > 8 ? ", …" : "")}");
        return result;
    }

    private static string Key(object? key) => key is string s ? CheckpointErrors.Quote(s) : PicklePolicy.Describe(key);

    // ---- reading -----------------------------------------------------------------------------------

    private static bool IsContiguous(long[] shape, long[] stride)
    {
        long expected = 1;
        for (var i = shape.Length - 1; i >= 0; i--)
        {
            if (shape[i] != 1 && stride[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    /// <summary>The elements from a view's first to its last, inclusive (strides are non-negative).</summary>
    private static long Extent(TensorRef t)
    {
        long last = 0;
        for (var i = 0; i < t.Shape.Length; i++) last = checked(last + (t.Shape[i] - 1) * t.Stride[i]);
        return last + 1;
    }

    private void Fill(Tensor tensor, long offset, string name)
    {
        const int chunk = SafetensorsFile.DefaultChunkBytes;
        var elementSize = (int)tensor.ElementSize;
        var total = tensor.NumberOfElements;
        var perChunk = Math.Max(1, chunk / elementSize);
        if (total <= perChunk)
        {
            ReadExactly(_handle, tensor.bytes, offset, _display, $"tensor {CheckpointErrors.Quote(name)}");
            return;
        }
        using var flat = tensor.view(-1);
        for (long done = 0; done < total; done += perChunk)
        {
            var count = Math.Min(perChunk, total - done);
            using var slice = flat.narrow(0, done, count);
            ReadExactly(_handle, slice.bytes, offset + done * elementSize, _display, $"tensor {CheckpointErrors.Quote(name)}");
        }
    }

    private static void ReadExactly(SafeFileHandle handle, Span<byte> destination, long offset, string display, string what)
    {
        try
        {
            while (!destination.IsEmpty)
            {
                var n = RandomAccess.Read(handle, destination, offset);
                if (n == 0) throw CheckpointErrors.Input(display, $"{what}: the file ends at byte {offset} (truncated, or changed after it was opened?)");
                destination = destination[n..];
                offset += n;
            }
        }
        catch (IOException e)
        {
            throw CheckpointErrors.Input(display, $"{what}: cannot read: {e.Message}", e);
        }
    }
}
