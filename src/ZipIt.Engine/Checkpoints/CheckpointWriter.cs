using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Checkpoints;

/// <summary>
/// Writes safetensors checkpoints: one file (<see cref="WriteFile"/>) or Hugging Face shards plus
/// an index (<see cref="WriteSharded"/>); and state dicts as <c>torch.save</c> files (<see cref="WritePyTorch"/>).
/// </summary>
/// <remarks>
/// <para>Output is byte-deterministic: tensors are laid out in ordinal name order, the header is
/// compact JSON (<c>__metadata__</c> first, its keys in ordinal order), padded with spaces so the
/// data starts on an 8-byte boundary, as the reference writer does.</para>
/// <para>Writes are atomic: every file is written to a temporary <c>.NAME.zipit-tmp-PID-RANDOM</c>
/// (registered with <see cref="ZipIt.Engine.Output.TempFiles"/>) in the target folder, flushed to disk, then renamed over its target (an index last). Everything is
/// checked (names, dtypes, header) before the first byte is written; on any failure the temporary
/// files, and any target already renamed in this call, are deleted.</para>
/// <para>Tensors are copied to the CPU and made contiguous only when they are not already; their
/// bytes go from tensor memory to the file with no further copy. The input tensors are not
/// disposed. Data is written in host byte order, which must be little-endian (big-endian hosts
/// are not supported).</para>
/// </remarks>
public static class CheckpointWriter
{
    private const int ChunkBytes = SafetensorsFile.DefaultChunkBytes;

    private static readonly JsonWriterOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonWriterOptions Indented = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = true };

    private sealed record Item(string Name, Tensor Tensor, string DType, long[] Shape, long ByteLength);

    private sealed record Target(string Full, string Display, Action<Stream> Write);

    /// <summary>Writes one .safetensors file at <paramref name="path"/>, replacing any file there.</summary>
    /// <param name="path">The file to write; its folder must exist.</param>
    /// <param name="tensors">Name → tensor; names must be unique and not <c>__metadata__</c>.</param>
    /// <param name="metadata">The header's <c>__metadata__</c>; omitted when null or empty.</param>
    /// <exception cref="ArgumentException">A null or repeated tensor name or tensor.</exception>
    /// <exception cref="ZipItException">Exit code 3: a tensor of a dtype safetensors output does not
    /// support (complex, quantized); exit code 5: the file cannot be written.</exception>
    public static void WriteFile(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var full = Path.GetFullPath(path);
        var items = Prepare(tensors, path);
        var header = BuildHeader(items, metadata);
        if (Directory.Exists(full)) throw CheckpointErrors.Write(path, "it is a directory");
        if (!Directory.Exists(Path.GetDirectoryName(full))) throw CheckpointErrors.Write(path, "its folder does not exist");
        WriteAtomically([new Target(full, path, s => WriteSafetensors(s, header, items))], createdDirectory: null);
    }

    /// <summary>
    /// Writes one <c>torch.save</c> file (PyTorch's zip format) at <paramref name="path"/>, replacing
    /// any file there: an <c>OrderedDict</c> of the tensors, in the order given, that
    /// <c>torch.load(path, weights_only=True)</c> reads (<see cref="PyTorch.PyTorchWriter"/>).
    /// Byte-deterministic, and atomic as <see cref="WriteFile"/>. A state dict has no place for
    /// safetensors metadata, so there is none.
    /// </summary>
    /// <param name="path">The file to write (.pt, .pth or .bin by convention); its folder must exist.</param>
    /// <param name="tensors">Name → tensor; names must be unique.</param>
    /// <exception cref="ArgumentException">A null or repeated tensor name or tensor.</exception>
    /// <exception cref="ZipItException">Exit code 3: a tensor of a dtype zipit cannot save;
    /// exit code 5: the file cannot be written.</exception>
    public static void WritePyTorch(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var full = Path.GetFullPath(path);
        var items = Prepare(tensors, path, safetensors: false);
        var records = items.Select(i => new PyTorch.PyTorchWriter.Tensor(i.Name, i.DType, i.Shape, i.ByteLength, s => WriteData(s, i))).ToList();
        if (Directory.Exists(full)) throw CheckpointErrors.Write(path, "it is a directory");
        if (!Directory.Exists(Path.GetDirectoryName(full))) throw CheckpointErrors.Write(path, "its folder does not exist");
        WriteAtomically([new Target(full, path, s => PyTorch.PyTorchWriter.Write(s, records))], createdDirectory: null);
    }

    /// <summary>
    /// Writes a sharded checkpoint into <paramref name="directory"/> (created if missing):
    /// <c>model-00001-of-0000N.safetensors</c> … and <c>model.safetensors.index.json</c>
    /// (<c>metadata.total_size</c> = the tensors' bytes, <c>weight_map</c> = tensor → shard), even when
    /// N is 1. Tensors go to shards in ordinal name order; a shard is closed when the next tensor
    /// would take it past <paramref name="maxShardBytes"/> of tensor data (a larger tensor gets a shard
    /// of its own). Every shard's <c>__metadata__</c> and the index's <c>metadata</c> carry
    /// <paramref name="metadata"/> (the index leaves out a key named <c>total_size</c>).
    /// Shard files of an earlier, larger write in the same folder are not removed.
    /// </summary>
    /// <returns>The full paths written: the shards in order, then the index.</returns>
    public static IReadOnlyList<string> WriteSharded(string directory, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata, long maxShardBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxShardBytes);
        var full = Path.GetFullPath(directory);
        var items = Prepare(tensors, directory);

        var groups = new List<List<Item>> { new() };
        long inGroup = 0;
        foreach (var item in items)
        {
            if (groups[^1].Count > 0 && inGroup + item.ByteLength > maxShardBytes)
            {
                groups.Add([]);
                inGroup = 0;
            }
            groups[^1].Add(item);
            inGroup += item.ByteLength;
        }

        var targets = new List<Target>();
        var weightMap = new List<(string Tensor, string Shard)>();
        for (var k = 0; k < groups.Count; k++)
        {
            var group = groups[k];
            var name = $"model-{k + 1:D5}-of-{groups.Count:D5}.safetensors";
            var header = BuildHeader(group, metadata);
            targets.Add(new Target(Path.Combine(full, name), Path.Combine(directory, name), s => WriteSafetensors(s, header, group)));
            weightMap.AddRange(group.Select(i => (i.Name, name)));
        }
        var index = BuildIndex(items.Sum(i => i.ByteLength), metadata, weightMap);
        targets.Add(new Target(Path.Combine(full, Checkpoint.IndexFileName), Path.Combine(directory, Checkpoint.IndexFileName), s => s.Write(index)));

        if (File.Exists(full)) throw CheckpointErrors.Write(directory, "it is a file, not a folder");
        string? created = null;
        if (!Directory.Exists(full))
        {
            try
            {
                Directory.CreateDirectory(full);
                created = full;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw CheckpointErrors.Write(directory, e.Message, e);
            }
        }
        WriteAtomically(targets, created);
        return targets.Select(t => t.Full).ToArray();
    }

    // ---- preparation (nothing on disk yet) ------------------------------------------------------

    private static List<Item> Prepare(IEnumerable<KeyValuePair<string, Tensor>> tensors, string target, bool safetensors = true)
    {
        var items = new List<Item>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            if (name is null) throw new ArgumentException($"writing {target}: a tensor has a null name", nameof(tensors));
            if (tensor is null) throw new ArgumentException($"writing {target}: tensor '{name}' is null", nameof(tensors));
            if (safetensors && name == "__metadata__") throw new ArgumentException($"writing {target}: '__metadata__' is reserved and cannot name a tensor", nameof(tensors));
            if (!names.Add(name)) throw new ArgumentException($"writing {target}: tensor '{name}' is given twice", nameof(tensors));
            if (!SafetensorsDType.TryFromScalarType(tensor.dtype, out var code))
            {
                throw ZipItException.Input(CheckpointErrors.OneLine(
                    $"cannot write {target}: tensor {CheckpointErrors.Quote(name)} has type {tensor.dtype}, which zipit cannot save (supported: {string.Join(", ", SafetensorsDType.SupportedCodes)})"));
            }
            var shape = tensor.shape;
            long count = 1;
            foreach (var d in shape) count = checked(count * d);
            items.Add(new Item(name, tensor, code, shape, checked(count * SafetensorsDType.ElementSize(code))));
        }
        if (safetensors) items.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return items;
    }

    private static byte[] BuildHeader(List<Item> items, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, Compact))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    ArgumentNullException.ThrowIfNull(v, $"metadata[{k}]");
                    json.WriteString(k, v);
                }
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var item in items)
            {
                json.WriteStartObject(item.Name);
                json.WriteString("dtype", item.DType);
                json.WriteStartArray("shape");
                foreach (var d in item.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + item.ByteLength);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += item.ByteLength;
            }
            json.WriteEndObject();
        }

        // 8 (length field) + header length must be a multiple of 8: pad the JSON with spaces.
        var padded = (buffer.WrittenCount + 7) / 8 * 8;
        var header = new byte[8 + padded];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)padded);
        buffer.WrittenSpan.CopyTo(header.AsSpan(8));
        header.AsSpan(8 + buffer.WrittenCount).Fill((byte)' ');
        return header;
    }

    private static byte[] BuildIndex(long totalSize, IReadOnlyDictionary<string, string>? metadata, List<(string Tensor, string Shard)> weightMap)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, Indented))
        {
            json.WriteStartObject();
            json.WriteStartObject("metadata");
            json.WriteNumber("total_size", totalSize);
            if (metadata is not null)
            {
                foreach (var (k, v) in metadata.Where(kv => kv.Key != "total_size").OrderBy(kv => kv.Key, StringComparer.Ordinal))
                    json.WriteString(k, v);
            }
            json.WriteEndObject();
            json.WriteStartObject("weight_map");
            foreach (var (tensor, shard) in weightMap.OrderBy(w => w.Tensor, StringComparer.Ordinal)) json.WriteString(tensor, shard);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return [.. buffer.WrittenSpan, (byte)'\n'];
    }

    // ---- writing --------------------------------------------------------------------------------

    private static void WriteSafetensors(Stream stream, byte[] header, List<Item> items)
    {
        stream.Write(header);
        foreach (var item in items) WriteData(stream, item);
    }

    private static void WriteData(Stream stream, Item item)
    {
        if (item.ByteLength == 0) return;
        Tensor? cpu = null, dense = null;
        try
        {
            var source = item.Tensor;
            if (source.device_type != DeviceType.CPU) source = cpu = source.cpu();
            if (!source.is_contiguous()) source = dense = source.contiguous();

            var elementSize = SafetensorsDType.ElementSize(item.DType);
            var total = source.NumberOfElements;
            var perChunk = Math.Max(1, ChunkBytes / elementSize);
            if (total <= perChunk)
            {
                stream.Write(source.bytes);
                return;
            }
            using var flat = source.view(-1);
            for (long done = 0; done < total; done += perChunk)
            {
                ZipIt.Engine.Output.TempFiles.ThrowIfCancelled();
                using var slice = flat.narrow(0, done, Math.Min(perChunk, total - done));
                stream.Write(slice.bytes);
            }
        }
        finally
        {
            dense?.Dispose();
            cpu?.Dispose();
        }
    }

    private static void WriteAtomically(List<Target> targets, string? createdDirectory)
    {
        var temps = new List<string>();
        var current = targets[0];
        try
        {
            foreach (var target in targets)
            {
                current = target;
                var temp = ZipIt.Engine.Output.TempFiles.Create(target.Full);
                temps.Add(temp);
                using var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 20);
                target.Write(stream);
                stream.Flush(flushToDisk: true);
            }
            // Cancelled while writing: nothing is renamed into place (an index last, as written).
            current = targets[^1];
            ZipIt.Engine.Output.TempFiles.Rename(temps.Select((t, i) => (t, targets[i].Full)).ToArray());
        }
        catch (Exception e)
        {
            foreach (var path in temps) ZipIt.Engine.Output.TempFiles.Delete(path);
            if (createdDirectory is not null)
            {
                try { Directory.Delete(createdDirectory); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
            if (e is IOException or UnauthorizedAccessException) throw CheckpointErrors.Write(current.Display, e.Message, e);
            throw;
        }
    }
}
