namespace ZipIt.Engine.Checkpoints.PyTorch;

/// <summary>
/// Writes a state dict as <c>torch.save</c> does (its zip format, the default since PyTorch 1.6),
/// so that <c>torch.load(path, weights_only=True)</c> returns an <c>OrderedDict</c> of tensors that
/// <c>load_state_dict(..., strict=True)</c> takes.
/// </summary>
/// <remarks>
/// <para>The members, in the order PyTorch 2.x writes them: <c>archive/data.pkl</c> (the pickle),
/// <c>.format_version</c> (<c>1</c>: storages in numeric key order), <c>.storage_alignment</c>
/// (<c>64</c>), <c>byteorder</c> (<c>little</c>), <c>data/0</c>, <c>data/1</c>, … (one storage per
/// tensor, in the order given), and <c>version</c> (<c>3</c>, the format version torch.save
/// produces). PyTorch 2.x also writes <c>.data/serialization_id</c>, a hash that only identifies
/// the file in its logs and is computed with C++'s <c>std::hash</c>, which no other program can
/// reproduce; it is optional for every reader and is left out. The archive's folder is
/// <c>archive</c>, as torch.save names it when writing to a stream: the bytes do not depend on
/// the file's name, so a renamed copy is the same file.</para>
/// <para>The pickle (protocol 2, torch.save's default) is the one Python writes for
/// <c>OrderedDict</c> of plain tensors, opcode for opcode: each value is
/// <c>torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())</c> with the
/// persistent id <c>('storage', torch.FloatStorage, key, 'cpu', numel)</c> (the storage type
/// naming the dtype). Every tensor has a storage of its own, contiguous, offset 0; strides are
/// PyTorch's contiguous strides (a dimension of size 0 counts as 1). Nothing else is pickled:
/// no <c>_metadata</c> attribute (module versions, which <c>load_state_dict</c> does not need).</para>
/// </remarks>
internal static class PyTorchWriter
{
    /// <summary>The folder every member is in.</summary>
    public const string ArchiveName = "archive";

    /// <summary>The PyTorch storage type of each supported safetensors dtype code.</summary>
    public static readonly IReadOnlyDictionary<string, string> StorageTypes = TorchPicklePolicy.StorageTypes
        .Where(kv => kv.Key != "UntypedStorage")
        .ToDictionary(kv => kv.Value, kv => kv.Key, StringComparer.Ordinal);

    /// <summary>One tensor to write: its name, dtype code, shape, byte count, and what writes its bytes.</summary>
    public sealed record Tensor(string Name, string DType, long[] Shape, long ByteLength, Action<Stream> WriteData);

    /// <summary>Writes the whole file to <paramref name="stream"/> (positioned at its start).</summary>
    public static void Write(Stream stream, IReadOnlyList<Tensor> tensors)
    {
        var zip = new TorchZipWriter(stream);
        zip.Add(ArchiveName + "/data.pkl", Pickle(tensors));
        zip.Add(ArchiveName + "/.format_version", "1"u8);
        zip.Add(ArchiveName + "/.storage_alignment", "64"u8);
        zip.Add(ArchiveName + "/byteorder", "little"u8);
        for (var i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            zip.Add($"{ArchiveName}/data/{i}", t.ByteLength, t.WriteData);
        }
        zip.Add(ArchiveName + "/version", "3\n"u8);
        zip.Finish();
    }

    /// <summary>The state dict's pickle: an OrderedDict of the tensors, storage keys "0", "1", … in order.</summary>
    public static byte[] Pickle(IReadOnlyList<Tensor> tensors)
    {
        var p = new PickleWriter();
        // OrderedDict.__reduce__: the class, no arguments, no state, then the items.
        p.Global("collections", "OrderedDict").Tuple(0).Reduce();
        // Python's pickler sets items in batches of 1000: one SETITEM for a batch of one.
        const int Batch = 1000;
        for (var start = 0; start < tensors.Count; start += Batch)
        {
            var count = Math.Min(Batch, tensors.Count - start);
            if (count > 1) p.Mark();
            for (var i = start; i < start + count; i++)
            {
                var t = tensors[i];
                var type = StorageTypes.TryGetValue(t.DType, out var s) ? s : throw new ArgumentException($"tensor '{t.Name}': no PyTorch storage for dtype {t.DType}");
                var numel = t.Shape.Aggregate(1L, (a, d) => checked(a * d));
                p.Str(t.Name);
                p.Global("torch._utils", "_rebuild_tensor_v2");
                p.Mark();
                {
                    // The storage, as a persistent id: ('storage', torch.<Type>Storage, key, 'cpu', numel).
                    p.Mark().Str("storage", shared: true).Global("torch", type).Str(i.ToString(System.Globalization.CultureInfo.InvariantCulture))
                        .Str("cpu", shared: true).Int(numel).Tuple(5).PersistentId();
                    p.Int(0); // storage offset
                    Ints(p, t.Shape);
                    Ints(p, ContiguousStrides(t.Shape));
                    p.Bool(false); // requires_grad
                    p.Global("collections", "OrderedDict").Tuple(0).Reduce(); // backward hooks: none
                }
                p.Tuple(6).Reduce();
            }
            p.SetItems(count);
        }
        return p.Stop();
    }

    /// <summary>The strides of a contiguous tensor as PyTorch computes them: a size-0 dimension counts as 1.</summary>
    public static long[] ContiguousStrides(long[] shape)
    {
        var strides = new long[shape.Length];
        long step = 1;
        for (var i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = step;
            step = checked(step * Math.Max(shape[i], 1));
        }
        return strides;
    }

    private static void Ints(PickleWriter p, long[] values)
    {
        if (values.Length > 3) p.Mark();
        foreach (var v in values) p.Int(v);
        p.Tuple(values.Length);
    }
}
