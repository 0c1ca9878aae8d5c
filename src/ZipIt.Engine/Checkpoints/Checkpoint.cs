using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Unicode;
using static TorchSharp.torch;
using Microsoft.Extensions.Logging;
using ZipIt.Engine.Checkpoints.PyTorch;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Checkpoints;

/// <summary>
/// A model checkpoint on disk, the one way the rest of zipit reads weights: a single .safetensors
/// file, a <c>torch.save</c> file (.pt/.pth/.bin, zip or legacy format, read without running any of
/// it), a Hugging Face sharded checkpoint (an index plus its shards, of either kind), or a folder
/// holding one of these. Headers are read and cross-checked when opened; tensor data is read only by
/// <see cref="Read"/> / <see cref="ReadAll"/>.
/// </summary>
/// <remarks>
/// <para><see cref="Open"/> accepts a file (its format is told by its first bytes, not its name),
/// an index file (any path ending in ".json"), or a directory holding, in this order of preference,
/// <c>model.safetensors</c>, <c>model.safetensors.index.json</c>, <c>pytorch_model.bin</c> or
/// <c>pytorch_model.bin.index.json</c>. A directory's <c>config.json</c> (Hugging Face, timm) is
/// exposed as metadata: each top-level string, number or boolean as <c>config.FIELD</c>, and each
/// of those inside a <c>model_args</c> object as <c>config.model_args.FIELD</c>.</para>
/// <para><b>Metadata of a sharded checkpoint</b>: the first shard's <c>__metadata__</c> (first by
/// ordinal file name), then every <i>string</i> value of the index's <c>"metadata"</c> object on top
/// (the index speaks for the whole checkpoint, so it wins on a clash). Non-string index values,
/// such as the number <c>total_size</c>, are left out, so what
/// <see cref="CheckpointWriter.WriteSharded"/> writes reads back unchanged.</para>
/// <para>Shards are validated at open (header only) and closed again; a shard is reopened, and its
/// header checked against the one seen at open, the first time one of its tensors is read.</para>
/// </remarks>
public sealed class Checkpoint : IDisposable
{
    /// <summary>The single-file name looked for in a directory.</summary>
    public const string SingleFileName = "model.safetensors";

    /// <summary>The sharded index name looked for in a directory.</summary>
    public const string IndexFileName = "model.safetensors.index.json";

    /// <summary>The torch.save file name looked for in a directory (Hugging Face's name).</summary>
    public const string PyTorchFileName = "pytorch_model.bin";

    /// <summary>The sharded torch.save index name looked for in a directory.</summary>
    public const string PyTorchIndexFileName = "pytorch_model.bin.index.json";

    /// <summary>The model configuration looked for in a directory.</summary>
    public const string ConfigFileName = "config.json";

    private static readonly string[] FolderFiles = [SingleFileName, IndexFileName, PyTorchFileName, PyTorchIndexFileName];

    private const long MaxIndexBytes = 100_000_000;

    private readonly string _display;
    private readonly string[] _shardDisplays;
    private readonly ITensorFile?[] _open;
    private readonly Dictionary<string, (TensorEntry Entry, int Shard)> _byName;
    private readonly object _gate = new();
    private bool _disposed;

    private Checkpoint(string path, string display, bool sharded, string[] files, string[] shardDisplays,
        ITensorFile?[] open, IReadOnlyDictionary<string, string> metadata, List<(TensorEntry Entry, int Shard)> entries,
        CheckpointFormat format, IReadOnlyList<string> notes)
    {
        Format = format;
        Notes = notes;
        Path = path;
        _display = display;
        IsSharded = sharded;
        Files = files;
        _shardDisplays = shardDisplays;
        _open = open;
        Metadata = metadata;
        Entries = entries.Select(e => e.Entry).ToList();
        _byName = entries.ToDictionary(e => e.Entry.Name, StringComparer.Ordinal);
    }

    /// <summary>The full path of the file opened: the tensor file or the index file (inside the folder, when given one).</summary>
    public string Path { get; }

    /// <summary>True when opened through an index.</summary>
    public bool IsSharded { get; }

    /// <summary>The format of the tensor files (of the first shard when sharded).</summary>
    public CheckpointFormat Format { get; }

    /// <summary>The folder given to <see cref="Open"/>, when a folder was given; otherwise null.</summary>
    public string? Folder { get; private set; }

    /// <summary>What to call the checkpoint in messages and records: the folder's name when a folder was given (not its pytorch_model.bin), else the file's.</summary>
    public string Name => System.IO.Path.GetFileName(Folder is null ? Path : System.IO.Path.TrimEndingDirectorySeparator(Folder));

    /// <summary>True when the folder given to <see cref="Open"/> has a config.json (read into <see cref="Metadata"/>).</summary>
    public bool HasConfig { get; private set; }

    /// <summary>What was read, for people: "PyTorch zip (torch.save)", "sharded safetensors (3 files), folder with config.json".</summary>
    public string Description
    {
        get
        {
            var what = Format switch
            {
                CheckpointFormat.PyTorchZip => "PyTorch zip (torch.save)",
                CheckpointFormat.PyTorchLegacy => "PyTorch legacy (torch.save before 1.6)",
                _ => "safetensors",
            };
            if (IsSharded) what = $"sharded {what} ({Files.Count} files)";
            if (Folder is not null) what += HasConfig ? ", folder with config.json" : ", folder";
            return what;
        }
    }

    /// <summary>Entries of the files that are not tensors and were left out (a training checkpoint's
    /// epoch or optimizer), one line each; empty for safetensors.</summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>The full paths of the tensor files (.safetensors or torch.save), in ordinal name order (one unless sharded).</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>The checkpoint's metadata (see the class remarks for the sharded rule); empty if none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; private set; }

    /// <summary>Every tensor, shard by shard (<see cref="Files"/> order), each shard in data order;
    /// <see cref="TensorEntry.FilePath"/> names the shard.</summary>
    public IReadOnlyList<TensorEntry> Entries { get; }

    /// <summary>Opens a checkpoint (see the class remarks for what <paramref name="path"/> may be).</summary>
    /// <exception cref="ZipItException">Exit code 3: not found, malformed, or an inconsistent index.</exception>
    public static Checkpoint Open(string path) => Open(path, null);

    /// <summary>Opens a checkpoint; what was left out of a training checkpoint is logged at debug level.</summary>
    /// <exception cref="ZipItException">Exit code 3: not found, malformed, refused (a pickle that
    /// asks for code), or an inconsistent index.</exception>
    public static Checkpoint Open(string path, ILogger? logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var checkpoint = OpenAny(path);
        if (logger is not null)
        {
            foreach (var note in checkpoint.Notes) logger.LogDebug("{Note}", note);
        }
        return checkpoint;
    }

    private static Checkpoint OpenAny(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        SpecialFiles.RequireRegular(full, path);
        if (Directory.Exists(full))
        {
            var name = FolderFiles.FirstOrDefault(n => File.Exists(System.IO.Path.Combine(full, n)))
                ?? throw CheckpointErrors.Input(path, $"directory holds none of {string.Join(", ", FolderFiles)}");
            var inner = System.IO.Path.Combine(full, name);
            var display = System.IO.Path.Combine(path, name);
            var checkpoint = name.EndsWith(".json", StringComparison.Ordinal) ? OpenIndex(inner, display) : OpenSingle(inner, display);
            checkpoint.Folder = full;
            var configPath = System.IO.Path.Combine(full, ConfigFileName);
            if (!File.Exists(configPath)) return checkpoint;
            try
            {
                var metadata = new Dictionary<string, string>(checkpoint.Metadata, StringComparer.Ordinal);
                foreach (var (k, v) in ModelConfigFile.Read(configPath, System.IO.Path.Combine(path, ConfigFileName))) metadata[k] = v;
                checkpoint.Metadata = metadata;
                checkpoint.HasConfig = true;
                return checkpoint;
            }
            catch
            {
                checkpoint.Dispose();
                throw;
            }
        }
        if (!File.Exists(full)) throw CheckpointErrors.Input(path, "file not found");
        return full.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? OpenIndex(full, path) : OpenSingle(full, path);
    }

    /// <summary>True if the checkpoint holds a tensor named <paramref name="name"/>.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>Looks a tensor up by name (ordinal).</summary>
    public bool TryGetEntry(string name, [MaybeNullWhen(false)] out TensorEntry entry)
    {
        var found = _byName.TryGetValue(name, out var e);
        entry = found ? e.Entry : null;
        return found;
    }

    /// <summary>The entry of <paramref name="name"/>.</summary>
    /// <exception cref="ZipItException">Exit code 3: no such tensor.</exception>
    public TensorEntry GetEntry(string name) =>
        _byName.TryGetValue(name, out var e) ? e.Entry : throw NoSuchTensor(name);

    /// <summary>Reads one tensor (CPU, contiguous; the caller disposes it), opening its shard if needed.</summary>
    /// <exception cref="ZipItException">Exit code 3: no such tensor, or its file changed or cannot be read.</exception>
    public Tensor Read(string name)
    {
        if (!_byName.TryGetValue(name, out var e)) throw NoSuchTensor(name);
        var file = Shard(e.Shard);
        if (!file.TryGetEntry(name, out var now) || now.DType != e.Entry.DType || !now.Shape.AsSpan().SequenceEqual(e.Entry.Shape)
            || now.Begin != e.Entry.Begin || now.End != e.Entry.End)
        {
            throw CheckpointErrors.Input(_shardDisplays[e.Shard],
                $"tensor {CheckpointErrors.Quote(name)}: the shard changed after the checkpoint was opened");
        }
        return file.Read(now);
    }

    /// <summary>Reads every tensor into a new dictionary, inserted in ordinal name order. On failure
    /// the tensors read so far are disposed.</summary>
    public Dictionary<string, Tensor> ReadAll()
    {
        var result = new Dictionary<string, Tensor>(_byName.Count, StringComparer.Ordinal);
        try
        {
            foreach (var name in _byName.Keys.Order(StringComparer.Ordinal)) result.Add(name, Read(name));
            return result;
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            for (var i = 0; i < _open.Length; i++)
            {
                _open[i]?.Dispose();
                _open[i] = null;
            }
        }
    }

    private ITensorFile Shard(int i)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _open[i] ??= OpenFile(Files[i], _shardDisplays[i]).File;
        }
    }

    /// <summary>Opens one file of tensors, telling its format by its first bytes.</summary>
    private static (ITensorFile File, CheckpointFormat Format) OpenFile(string full, string display)
    {
        SpecialFiles.RequireRegular(full, display);
        if (Directory.Exists(full) || !File.Exists(full)) return (SafetensorsFile.Open(full, display), CheckpointFormat.Safetensors);
        var head = new byte[16];
        int read;
        try
        {
            using var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1);
            read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CheckpointErrors.Input(display, $"cannot open: {e.Message}", e);
        }
        var span = head.AsSpan(0, read);
        // A safetensors header length under 4 GiB followed by '{' wins over any chance match below.
        var safetensors = read >= 9 && head[8] == (byte)'{' && head[4] == 0 && head[5] == 0 && head[6] == 0 && head[7] == 0;
        if (!safetensors && (PyTorchFile.IsZip(span) || PyTorchFile.IsPickle(span)))
        {
            var file = PyTorchFile.Open(full, display);
            return (file, file.IsLegacy ? CheckpointFormat.PyTorchLegacy : CheckpointFormat.PyTorchZip);
        }
        return (SafetensorsFile.Open(full, display), CheckpointFormat.Safetensors);
    }

    private ZipItException NoSuchTensor(string name) =>
        CheckpointErrors.Input(_display, $"no tensor named {CheckpointErrors.Quote(name)}");

    // ---- opening --------------------------------------------------------------------------------

    private static Checkpoint OpenSingle(string full, string display)
    {
        var (file, format) = OpenFile(full, display);
        return new Checkpoint(full, display, sharded: false, [full], [display], [file], file.Metadata,
            file.Entries.Select(e => (e, 0)).ToList(), format, file.Notes);
    }

    private static Checkpoint OpenIndex(string full, string display)
    {
        var (indexMetadata, weightMap) = ParseIndex(full, display);
        var directory = System.IO.Path.GetDirectoryName(full)!;
        var displayDirectory = System.IO.Path.GetDirectoryName(display) ?? "";
        var inside = System.IO.Path.TrimEndingDirectorySeparator(directory) + System.IO.Path.DirectorySeparatorChar;

        var shardNames = weightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var files = new string[shardNames.Length];
        var displays = new string[shardNames.Length];
        for (var i = 0; i < shardNames.Length; i++)
        {
            var name = shardNames[i];
            var shardFull = System.IO.Path.GetFullPath(System.IO.Path.Combine(directory, name));
            if (System.IO.Path.IsPathRooted(name) || !shardFull.StartsWith(inside, StringComparison.Ordinal))
                throw CheckpointErrors.Input(display, $"shard {CheckpointErrors.Quote(name)} is not a file name inside the index's folder");
            if (!File.Exists(shardFull))
            {
                var example = weightMap.First(kv => kv.Value == name).Key;
                throw CheckpointErrors.Input(display, $"shard {CheckpointErrors.Quote(name)} (listed for tensor {CheckpointErrors.Quote(example)}) not found");
            }
            files[i] = shardFull;
            displays[i] = System.IO.Path.Combine(displayDirectory, name);
        }

        var entries = new List<(TensorEntry, int)>();
        var where = new Dictionary<string, int>(StringComparer.Ordinal);
        IReadOnlyDictionary<string, string> firstShardMetadata = new Dictionary<string, string>();
        var format = CheckpointFormat.Safetensors;
        var notes = new List<string>();
        for (var i = 0; i < files.Length; i++)
        {
            var (shard, shardFormat) = OpenFile(files[i], displays[i]);
            using var _ = shard;
            if (i == 0) (firstShardMetadata, format) = (shard.Metadata, shardFormat);
            notes.AddRange(shard.Notes);
            foreach (var e in shard.Entries)
            {
                if (where.TryGetValue(e.Name, out var other))
                {
                    throw CheckpointErrors.Input(display,
                        $"tensor {CheckpointErrors.Quote(e.Name)} is in two shards, {CheckpointErrors.Quote(shardNames[other])} and {CheckpointErrors.Quote(shardNames[i])}");
                }
                where.Add(e.Name, i);
                entries.Add((e, i));
            }
        }

        foreach (var (tensor, shardName) in weightMap)
        {
            var i = Array.IndexOf(shardNames, shardName);
            if (!where.TryGetValue(tensor, out var actual) || actual != i)
            {
                var hint = where.TryGetValue(tensor, out actual) ? $" (it is in {CheckpointErrors.Quote(shardNames[actual])})" : "";
                throw CheckpointErrors.Input(display,
                    $"weight_map puts tensor {CheckpointErrors.Quote(tensor)} in shard {CheckpointErrors.Quote(shardName)}, which does not hold it{hint}");
            }
        }
        foreach (var (e, i) in entries)
        {
            if (!weightMap.ContainsKey(e.Name))
            {
                throw CheckpointErrors.Input(display,
                    $"shard {CheckpointErrors.Quote(shardNames[i])} holds tensor {CheckpointErrors.Quote(e.Name)}, which weight_map does not list");
            }
        }

        var metadata = new Dictionary<string, string>(firstShardMetadata, StringComparer.Ordinal);
        foreach (var (k, v) in indexMetadata) metadata[k] = v;
        return new Checkpoint(full, display, sharded: true, files, displays, new ITensorFile?[files.Length], metadata, entries, format, notes);
    }

    /// <summary>Reads an index: its string-valued "metadata" entries and its weight_map (tensor → shard file name).</summary>
    private static (Dictionary<string, string> Metadata, Dictionary<string, string> WeightMap) ParseIndex(string full, string display)
    {
        byte[] bytes;
        try
        {
            var length = new FileInfo(full).Length;
            if (length > MaxIndexBytes) throw CheckpointErrors.Input(display, $"index is {length} bytes, over the {MaxIndexBytes:N0}-byte limit");
            bytes = File.ReadAllBytes(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CheckpointErrors.Input(display, $"cannot read: {e.Message}", e);
        }
        if (!Utf8.IsValid(bytes)) throw CheckpointErrors.Input(display, "index is not valid UTF-8");

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        Dictionary<string, string>? weightMap = null;
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw CheckpointErrors.Input(display, "index is not a JSON object");
            var keys = new HashSet<string>(StringComparer.Ordinal);
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                var key = reader.GetString()!;
                if (!keys.Add(key)) throw CheckpointErrors.Input(display, $"index has duplicate key {CheckpointErrors.Quote(key)}");
                reader.Read();
                switch (key)
                {
                    case "metadata":
                        if (reader.TokenType == JsonTokenType.Null) break;
                        if (reader.TokenType != JsonTokenType.StartObject)
                            throw CheckpointErrors.Input(display, "index \"metadata\" is not a JSON object");
                        var metadataKeys = new HashSet<string>(StringComparer.Ordinal);
                        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                        {
                            var k = reader.GetString()!;
                            if (!metadataKeys.Add(k))
                                throw CheckpointErrors.Input(display, $"index \"metadata\" has duplicate key {CheckpointErrors.Quote(k)}");
                            reader.Read();
                            if (reader.TokenType == JsonTokenType.String) metadata[k] = reader.GetString()!;
                            else reader.Skip(); // e.g. total_size, a number
                        }
                        break;
                    case "weight_map":
                        if (reader.TokenType != JsonTokenType.StartObject)
                            throw CheckpointErrors.Input(display, "index \"weight_map\" is not a JSON object");
                        weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
                        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                        {
                            var tensor = reader.GetString()!;
                            reader.Read();
                            if (reader.TokenType != JsonTokenType.String)
                                throw CheckpointErrors.Input(display, $"weight_map value of tensor {CheckpointErrors.Quote(tensor)} is not a shard file name");
                            if (!weightMap.TryAdd(tensor, reader.GetString()!))
                                throw CheckpointErrors.Input(display, $"weight_map lists tensor {CheckpointErrors.Quote(tensor)} twice");
                        }
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }
            reader.Read(); // throws on anything but whitespace after the object
        }
        catch (JsonException e)
        {
            throw CheckpointErrors.Input(display, $"index is not valid JSON: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            throw CheckpointErrors.Input(display, $"index is not valid JSON: {e.Message}", e);
        }

        if (weightMap is null) throw CheckpointErrors.Input(display, "index has no \"weight_map\"");
        return (metadata, weightMap);
    }
}
