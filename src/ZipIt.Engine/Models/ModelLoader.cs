using System.Text.Json;
using TorchSharp;
using ZipIt.Engine.Runtime;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Plugins;
using ZipIt.Engine.Zip;
using static TorchSharp.torch;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Models;

/// <summary>
/// Turns a checkpoint into a model: asks the architecture plugins which configuration it is (from
/// names, shapes and metadata), checks every key and shape against that configuration before any
/// tensor is copied, then loads the weights.
/// </summary>
internal sealed class ModelLoader(PluginCatalog plugins, RecognitionHints? userHints = null)
{
    /// <summary>Loads several models that must share one configuration (exit 3 naming the first that differs).</summary>
    public List<LoadedModel> LoadAll(IReadOnlyList<string> paths, Device device, string? arch = null, IReadOnlyDictionary<string, string>? hints = null)
    {
        var models = new List<LoadedModel>();
        try
        {
            foreach (var path in paths)
            {
                var model = Load(path, device, arch, hints);
                models.Add(model);
                if (!model.Config.Equals(models[0].Config))
                    throw ZipItException.Input(
                        $"{model.Name} is {model.Config}, but {models[0].Name} is {models[0].Config}; models to merge must have the same architecture and widths");
            }
            return models;
        }
        catch
        {
            foreach (var m in models) m.Dispose();
            throw;
        }
    }

    /// <summary>Names, shapes and metadata of <paramref name="checkpoint"/>, keys as the model names them (a wrapper's prefix stripped).</summary>
    public static CheckpointSignature SignatureOf(Checkpoint checkpoint, IReadOnlyDictionary<string, string>? hints = null)
    {
        var remapping = KeyRemapping.For(checkpoint.Entries.Select(e => e.Name).ToList());
        return new CheckpointSignature(
            checkpoint.Entries.ToDictionary(e => remapping.ToModel(e.Name), e => new TensorSignature(e.DType, e.Shape)),
            checkpoint.Metadata) { Hints = hints ?? new Dictionary<string, string>() };
    }

    /// <summary>
    /// Recognises <paramref name="checkpoint"/>. <paramref name="arch"/> (an architecture or variant
    /// name) narrows the search and must agree with what is found. Returns null only when
    /// <paramref name="required"/> is false and nothing recognises it.
    /// </summary>
    public ModelIdentity? Identify(Checkpoint checkpoint, string? arch, bool required = true, IReadOnlyDictionary<string, string>? hints = null)
    {
        // An --arch that names nothing installed is a usage error whatever the file is, also when
        // its metadata names the architecture and recognition is never asked.
        if (arch is not null && !plugins.Architectures.Any(a => string.Equals(a.Architecture.Name, arch, StringComparison.OrdinalIgnoreCase)
                || a.Architecture.Variants.Any(v => string.Equals(v.Name, arch, StringComparison.OrdinalIgnoreCase))))
            throw ZipItException.Usage($"--arch {arch}: no installed architecture or variant has that name (installed: {KnownNames()})");
        var signature = SignatureOf(checkpoint, hints ?? userHints?.Values);
        var remapping = KeyRemapping.For(checkpoint.Entries.Select(e => e.Name).ToList());
        var file = checkpoint.Name;
        if (signature.Metadata.TryGetValue(MetadataKeys.Kind, out var kind) && kind != "model")
            return required ? throw ZipItException.Input($"{file} is a zipit {kind} file, not a model") : null;
        var (architecture, config) = FromMetadata(signature, file) ?? Recognise(signature, arch, file, required);
        if (architecture is null || config is null) return null;
        if (arch is not null && !NameMatches(architecture, config, arch))
            throw ZipItException.Input($"{file} is {config}, not '{arch}'");
        RequireHintsHold(signature.Hints, config, file);

        using var model = Create(architecture, config, file);
        // Graph check on every load (issue 11): the plugin's description must fit the model it built.
        GraphCheck.Require(PluginName(architecture), config, architecture.Describe(config), model);
        var shapes = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        var parameterNames = model.named_parameters().Select(p => p.name).ToHashSet();
        var graph = architecture.Describe(config);
        var layout = HeadLayout.From(signature.Metadata, graph, file);
        var entry = layout?.EntryWidth(graph) ?? 0;
        long[] ShapeOf(string? modelKey) => modelKey is null ? [entry, entry] : shapes[modelKey];
        var expected = layout is null
            ? shapes
            : layout.Keys(shapes.Keys, graph).ToDictionary(k => k.Key, k => ShapeOf(k.ModelKey));
        var parameters = layout is null
            ? model.named_parameters().Sum(p => p.parameter.numel())
            : layout.Keys(parameterNames, graph).Where(k => k.ModelKey is not null).Sum(k => shapes[k.ModelKey!].Aggregate(1L, (a, b) => a * b));
        return new ModelIdentity(architecture, config, Compare(expected, signature), parameters, layout, remapping);
    }

    /// <summary>
    /// Exit 3 when a setting the user gave (<c>--arch-set</c>) is not what the checkpoint turned out
    /// to be (exit 2 when the architecture has no such setting): a plugin that reads the setting from the shapes would otherwise drop it silently.
    /// </summary>
    private static void RequireHintsHold(IReadOnlyDictionary<string, string> hints, ArchitectureConfig config, string file)
    {
        foreach (var (name, value) in hints)
        {
            var actual = config.Settings.FirstOrDefault(s => string.Equals(s.Key, name, StringComparison.OrdinalIgnoreCase));
            if (actual.Key is null)
                throw ZipItException.Usage($"--arch-set {name}={value}: {config.Architecture} has no setting '{name}' (its settings: {string.Join(", ", config.Settings.Keys.Order(StringComparer.Ordinal))})");
            if (!SameSetting(actual.Value, value))
                throw ZipItException.Input($"--arch-set {name}={value}: {file} has {actual.Key}={actual.Value}");
        }
    }

    private static bool SameSetting(string a, string b) =>
        string.Equals(a, b, StringComparison.OrdinalIgnoreCase)
        || (double.TryParse(a, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var x)
            && double.TryParse(b, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var y) && x == y);

    /// <summary>
    /// Loads <paramref name="path"/> as a model in eval mode on <paramref name="device"/> (the
    /// command's <c>--device</c>); exit 3 when it is not a model an installed plugin can build.
    /// </summary>
    public LoadedModel Load(string path, Device device, string? arch = null, IReadOnlyDictionary<string, string>? hints = null)
    {
        TorchRuntime.Initialize();
        using var checkpoint = Checkpoint.Open(path);
        var identity = Identify(checkpoint, arch, hints: hints)!;
        var file = checkpoint.Name;
        if (identity.Mismatch is not null)
            throw ZipItException.Input($"{file} does not fit {identity.Config}: {identity.Mismatch}");

        var graph = identity.Architecture.Describe(identity.Config);
        var layout = identity.Heads;
        var remap = identity.Remapping ?? KeyRemapping.None;
        var model = Create(identity.Architecture, identity.Config, file);
        var heads = new List<StagedModel>();
        var entry = new List<Tensor>();
        try
        {
            if (layout is null)
            {
                LoadWeights(model, file, key => remap.ToCheckpoint(key), checkpoint.Read);
            }
            else
            {
                LoadWeights(model, file, key => graph.StageOf(key) <= layout.StopStage ? key : null, checkpoint.Read);
                for (var h = 0; h < layout.Heads; h++)
                {
                    var head = Create(identity.Architecture, identity.Config, file);
                    heads.Add(head);
                    var prefix = HeadLayout.Prefix(h);
                    LoadWeights(head, file, key => graph.StageOf(key) > layout.StopStage ? prefix + key : null, checkpoint.Read);
                    head.eval();
                    if (layout.EntrySpace is not null) entry.Add(ReadEntry(checkpoint, file, HeadLayout.EntryKey(h)));
                }
            }
            model.eval();
            return new LoadedModel(checkpoint.Path, identity.Architecture, identity.Config, model, checkpoint.Metadata, graph, layout, heads, entry) { Name = checkpoint.Name }
                .To(device);
        }
        catch
        {
            model.Dispose();
            foreach (var h in heads) h.Dispose();
            foreach (var t in entry) t.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A zipped model as a runnable model, in memory (no file round trip): the merged trunk and,
    /// for a partial zip, one model per head with its entry transform. <paramref name="name"/> is
    /// how messages and reports call it (the output file's name).
    /// </summary>
    public static LoadedModel FromZipped(ZippedModel zipped, LoadedModel template, string name, IReadOnlyDictionary<string, string> metadata, Device device)
    {
        var graph = template.Graph;
        var layout = zipped.StopStage is { } stop ? new HeadLayout(stop, zipped.Heads.Count, zipped.EntrySpace) : null;
        var model = Create(template.Architecture, template.Config, name);
        var heads = new List<StagedModel>();
        var entry = new List<Tensor>();
        try
        {
            LoadWeights(model, name, key => zipped.Trunk.ContainsKey(key) ? key : null, key => zipped.Trunk[key]);
            for (var h = 0; h < zipped.Heads.Count; h++)
            {
                var head = Create(template.Architecture, template.Config, name);
                heads.Add(head);
                var own = zipped.Heads[h];
                LoadWeights(head, name, key => own.ContainsKey(key) ? key : null, key => own[key]);
                head.eval();
                if (zipped.EntryTransforms.Count > 0) entry.Add(zipped.EntryTransforms[h].clone());
            }
            model.eval();
            return new LoadedModel(name, template.Architecture, template.Config, model, metadata, graph, layout, heads, entry).To(device);
        }
        catch
        {
            model.Dispose();
            foreach (var h in heads) h.Dispose();
            foreach (var t in entry) t.Dispose();
            throw;
        }
    }

    private static Tensor ReadEntry(Checkpoint checkpoint, string file, string key)
    {
        var t = checkpoint.Read(key);
        if (!t.is_floating_point() || !t.isfinite().all().item<bool>())
            throw ZipItException.Input($"{file}: tensor '{key}' must hold finite floating-point values");
        return t.to(ScalarType.Float32);
    }

    private (IArchitecture, ArchitectureConfig)? FromMetadata(CheckpointSignature signature, string file)
    {
        if (!signature.Metadata.TryGetValue(MetadataKeys.Architecture, out var name)) return null;
        var architecture = plugins.Architecture(name)
            ?? throw ZipItException.Plugin($"{file} is a '{name}' model, and no installed plugin provides architecture '{name}'");
        var variant = signature.Metadata.GetValueOrDefault(MetadataKeys.Variant) ?? throw ZipItException.Input($"{file}: metadata has {MetadataKeys.Architecture} but no {MetadataKeys.Variant}");
        Dictionary<string, string>? settings;
        try
        {
            settings = JsonSerializer.Deserialize<Dictionary<string, string>>(signature.Metadata.GetValueOrDefault(MetadataKeys.Config) ?? "{}");
        }
        catch (JsonException e)
        {
            throw ZipItException.Input($"{file}: metadata {MetadataKeys.Config} is not a JSON object of strings ({e.Message})");
        }
        var config = new ArchitectureConfig(architecture.Name, variant, settings);
        // Metadata can be copied or edited by hand: a variant the tensors contradict would label
        // (and report) the model as something it is not, since the model is built from the settings.
        if (RecogniseOrNull(architecture, signature) is { } fromTensors && fromTensors.Variant != config.Variant)
            throw ZipItException.Input(
                $"{file}: metadata {MetadataKeys.Variant} says '{config.Variant}', but its tensors are {fromTensors}; correct or remove the metadata");
        return (architecture, config);
    }

    private static ArchitectureConfig? RecogniseOrNull(IArchitecture architecture, CheckpointSignature signature)
    {
        try
        {
            return architecture.Recognize(signature);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private (IArchitecture?, ArchitectureConfig?) Recognise(CheckpointSignature signature, string? arch, string file, bool required)
    {
        var candidates = plugins.Architectures.Select(a => a.Architecture).ToList();
        if (arch is not null)
        {
            candidates = candidates.Where(a => string.Equals(a.Name, arch, StringComparison.OrdinalIgnoreCase)
                                               || a.Variants.Any(v => string.Equals(v.Name, arch, StringComparison.OrdinalIgnoreCase))).ToList();
            if (candidates.Count == 0)
                throw ZipItException.Usage($"--arch {arch}: no installed architecture or variant has that name (installed: {KnownNames()})");
        }
        var found = new List<(IArchitecture, ArchitectureConfig)>();
        foreach (var architecture in candidates)
        {
            ArchitectureConfig? config;
            try
            {
                config = architecture.Recognize(signature);
            }
            catch (ArgumentException e)
            {
                throw ZipItException.Input($"{file}: {e.Message}");
            }
            if (config is not null) found.Add((architecture, config));
        }
        return found.Count switch
        {
            1 => found[0],
            0 when !required => (null, null),
            0 => throw ZipItException.Input(
                $"{file}: no installed architecture recognises this checkpoint (tried: {(candidates.Count == 0 ? "none installed" : string.Join(", ", candidates.Select(c => c.Name)))}); install a plugin with --plugins or name one with --arch"),
            _ => throw ZipItException.Input(
                $"{file}: several architectures recognise this checkpoint ({string.Join(", ", found.Select(f => f.Item2.ToString()))}); choose one with --arch"),
        };
    }

    /// <summary>The name of the plugin that registered <paramref name="architecture"/>.</summary>
    public string PluginName(IArchitecture architecture) =>
        plugins.Architectures.FirstOrDefault(a => a.Architecture == architecture).Plugin?.Name ?? architecture.Name;

    private static bool NameMatches(IArchitecture architecture, ArchitectureConfig config, string arch) =>
        string.Equals(architecture.Name, arch, StringComparison.OrdinalIgnoreCase) ||
        string.Equals(config.Variant, arch, StringComparison.OrdinalIgnoreCase);

    private string KnownNames() =>
        string.Join(", ", plugins.Architectures.SelectMany(a => a.Architecture.Variants.Select(v => v.Name).Prepend(a.Architecture.Name)));

    private static StagedModel Create(IArchitecture architecture, ArchitectureConfig config, string file)
    {
        try
        {
            return architecture.Create(config);
        }
        catch (ArgumentException e)
        {
            throw ZipItException.Input($"{file}: cannot build {config}: {e.Message}");
        }
    }

    /// <summary>One line naming what differs (first few of each kind), or null when keys and shapes agree.</summary>
    internal static string? Compare(IReadOnlyDictionary<string, long[]> expected, CheckpointSignature actual)
    {
        var missing = expected.Keys.Where(k => !actual.Tensors.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var unexpected = actual.Tensors.Keys.Where(k => !expected.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var shapes = expected.Where(kv => actual.Tensors.TryGetValue(kv.Key, out var t) && !t.Shape.SequenceEqual(kv.Value))
            .OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => $"'{kv.Key}' has shape [{string.Join(",", actual.Tensors[kv.Key].Shape)}], expected [{string.Join(",", kv.Value)}]")
            .ToList();
        var parts = new List<string>();
        if (missing.Count > 0) parts.Add("missing " + Few(missing.Select(m => $"'{m}'").ToList()));
        if (unexpected.Count > 0) parts.Add("unexpected " + Few(unexpected.Select(m => $"'{m}'").ToList()));
        if (shapes.Count > 0) parts.Add(Few(shapes));
        return parts.Count == 0 ? null : string.Join("; ", parts);
    }

    private static string Few(IReadOnlyList<string> items) =>
        items.Count <= 3 ? string.Join(", ", items) : string.Join(", ", items.Take(3)) + $" (+{items.Count - 3} more)";

    /// <summary>Copies into each model tensor the source tensor <paramref name="keyFor"/> names (null: leave it as built).</summary>
    private static void LoadWeights(StagedModel model, string file, Func<string, string?> keyFor, Func<string, Tensor> read)
    {
        using var _ = torch.no_grad();
        foreach (var (modelKey, target) in model.state_dict())
        {
            if (keyFor(modelKey) is not { } name) continue;
            using var scope = torch.NewDisposeScope();
            var source = read(name);
            if (source.is_floating_point() != target.is_floating_point())
                throw ZipItException.Input($"{file}: tensor '{name}' is {source.dtype}, expected {target.dtype}");
            target.copy_(source.dtype == target.dtype ? source : source.to(target.dtype));
        }
    }
}
