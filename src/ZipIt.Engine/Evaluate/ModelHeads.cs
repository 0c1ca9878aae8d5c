using System.Text.Json;
using ZipIt.Engine.Core;
using ZipIt.Engine.Models;
using static TorchSharp.torch;

namespace ZipIt.Engine.Evaluate;

/// <summary>
/// How the models' outputs are read, from what their checkpoints record: the head kind
/// (<c>zipit.head</c>) and, for a clip head, the class embeddings (<c>zipit.embedding</c>
/// <c>class-name-hash:D</c> vectors regenerated from the recorded class names). A head read the
/// wrong way would give a silent chance figure, so a choice that contradicts the checkpoints is
/// refused.
/// </summary>
internal static class ModelHeads
{
    /// <summary>The head kind and class embeddings [K, D] (row c for class c; null for logits) to evaluate with. The caller owns the tensor.</summary>
    public sealed record Reading(HeadKind Head, Tensor? Embeddings, string? EmbeddingsFrom);

    /// <param name="asked">The head the user named (<c>--head</c>); null: the models'.</param>
    /// <param name="embeddingsFile">A class-embeddings file the user gave; null: the models' spec.</param>
    /// <param name="tasks">The tasks evaluated: their class ids are the rows needed.</param>
    public static Reading Resolve(IReadOnlyList<LoadedModel> models, HeadKind? asked, string? embeddingsFile, IReadOnlyList<EvaluationTask> tasks,
        string headOption = "--head", string embeddingsOption = "--class-embeddings")
    {
        var recorded = models.Select(m => (Model: Name(m), Head: m.Metadata.GetValueOrDefault(MetadataKeys.Head))).ToList();
        var kinds = recorded.Where(r => r.Head is "clip" or "logits").Select(r => r.Head).Distinct().ToList();
        HeadKind head;
        if (asked is { } a)
        {
            var contrary = recorded.FirstOrDefault(r => r.Head is "clip" or "logits" && r.Head != a.ToString().ToLowerInvariant());
            if (contrary.Head is not null)
                throw ZipItException.Usage($"{headOption} {a.ToString().ToLowerInvariant()}: {contrary.Model} has a {contrary.Head} head ({MetadataKeys.Head}); "
                    + (contrary.Head == "clip" ? "its outputs are embeddings, not class scores, and would read as chance" : "its outputs are class scores, not embeddings")
                    + $"; leave out {headOption} to read each model as it records");
            head = a;
        }
        else if (kinds.Count > 1)
        {
            throw ZipItException.Usage($"the models record different heads ({string.Join(", ", recorded.Where(r => r.Head is not null).Select(r => $"{r.Model}: {r.Head}"))}); evaluate them apart");
        }
        else
        {
            head = kinds is ["clip"] ? HeadKind.Clip : HeadKind.Logits;
        }
        if (head == HeadKind.Logits) return new(head, null, null);
        if (embeddingsFile is not null) return new(head, ClassEmbeddingsFile.Read(embeddingsFile), Path.GetFileName(embeddingsFile));

        var specs = models.Select(m => m.Metadata.GetValueOrDefault(MetadataKeys.Embedding)).Where(s => s is not null and not "none").Distinct().ToList();
        if (specs.Count == 0) throw ZipItException.Usage($"a clip head needs class embeddings: no model records them ({MetadataKeys.Embedding}); pass {embeddingsOption} FILE");
        if (specs.Count > 1) throw ZipItException.Usage($"the models record different class embeddings ({string.Join(", ", specs)}); pass {embeddingsOption} FILE");
        var spec = specs[0]!;
        if (!spec.StartsWith(ClassNameEmbeddings.SpecPrefix, StringComparison.Ordinal)
            || !int.TryParse(spec[ClassNameEmbeddings.SpecPrefix.Length..], out var dimension) || dimension < 2)
            throw ZipItException.Usage($"the models were trained against class embeddings '{spec}' ({MetadataKeys.Embedding}), which zipit cannot regenerate; pass {embeddingsOption} FILE");
        var names = ClassNames(models);
        var needed = tasks.SelectMany(t => t.Classes).Max();
        var rows = new List<string>();
        for (long c = 0; c <= needed; c++)
        {
            if (names.TryGetValue(c, out var name)) rows.Add(name);
            else if (tasks.Any(t => t.Classes.Contains(c)))
                throw ZipItException.Usage($"class {c} of the tasks has no name in any model's {MetadataKeys.ClassNames}, so its {spec} vector cannot be made; pass {embeddingsOption} FILE");
            else rows.Add($"\0unused class {c}");
        }
        return new(head, ClassNameEmbeddings.For(rows, dimension), spec);
    }

    /// <summary>
    /// Class id → name over every model's <c>zipit.classes</c> and <c>zipit.class_names</c>; a merged
    /// model records its sources' union. Ids named differently by two models are left out.
    /// </summary>
    public static SortedDictionary<long, string> ClassNames(IEnumerable<LoadedModel> models) => ClassNames(models.Select(m => m.Metadata));

    public static SortedDictionary<long, string> ClassNames(IEnumerable<IReadOnlyDictionary<string, string>> metadata)
    {
        var names = new SortedDictionary<long, string>();
        var conflicting = new HashSet<long>();
        foreach (var m in metadata)
        {
            if (!m.TryGetValue(MetadataKeys.Classes, out var classesJson) || !m.TryGetValue(MetadataKeys.ClassNames, out var namesJson)) continue;
            long[]? ids;
            string[]? labels;
            try
            {
                ids = JsonSerializer.Deserialize<long[]>(classesJson);
                labels = JsonSerializer.Deserialize<string[]>(namesJson);
            }
            catch (JsonException)
            {
                continue;
            }
            if (ids is null || labels is null || ids.Length != labels.Length) continue;
            for (var i = 0; i < ids.Length; i++)
            {
                if (names.TryGetValue(ids[i], out var known) && known != labels[i]) conflicting.Add(ids[i]);
                else names[ids[i]] = labels[i];
            }
        }
        foreach (var c in conflicting) names.Remove(c);
        return names;
    }

    private static string Name(LoadedModel m) => Path.GetFileName(Path.TrimEndingDirectorySeparator(m.Path));
}
