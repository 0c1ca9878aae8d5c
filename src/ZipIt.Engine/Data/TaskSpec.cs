using System.Globalization;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Data;

/// <summary>
/// A task: a dataset and a subset of its classes, written <c>DATASET[:CLASSES]</c>, e.g.
/// <c>fashion-mnist:0-4</c>, <c>fashion-mnist:5,7,9</c>, <c>mnist:all</c> or <c>mnist</c>
/// (all classes). DATASET is a known name or a folder.
/// </summary>
internal sealed record TaskSpec(string Dataset, IReadOnlyList<long>? Classes)
{
    public override string ToString() => Classes is null ? $"{Dataset}:all" : $"{Dataset}:{FormatClasses(Classes)}";

    public static TaskSpec Parse(string text)
    {
        var colon = text.LastIndexOf(':');
        if (colon > 0 && colon < text.Length - 1 && TryParseClasses(text[(colon + 1)..], out var classes))
            return new TaskSpec(text[..colon], classes);
        if (colon == text.Length - 1) throw ZipItException.Usage($"task '{text}': nothing after ':' (expected classes such as 0-4 or all)");
        if (colon > 0 && !Directory.Exists(text))
            throw ZipItException.Usage($"task '{text}': '{text[(colon + 1)..]}' is not a class list such as 0-4, 0,2,5-7 or all");
        return new TaskSpec(text, null);
    }

    /// <summary>Class ids of <paramref name="classCount"/> classes that this task covers.</summary>
    public IReadOnlyList<long> Resolve(int classCount)
    {
        if (Classes is null) return Enumerable.Range(0, classCount).Select(i => (long)i).ToList();
        foreach (var c in Classes)
            if (c >= classCount) throw ZipItException.Usage($"task '{this}': class {c} is out of range; {Dataset} has {classCount} classes (0-{classCount - 1})");
        return Classes;
    }

    /// <summary>Parses a class list (<c>0-4</c>, <c>0,2,5-7</c>; <c>all</c> gives null).</summary>
    public static bool TryParseClasses(string text, out IReadOnlyList<long>? classes)
    {
        classes = null;
        if (string.Equals(text, "all", StringComparison.OrdinalIgnoreCase)) return true;
        var list = new List<long>();
        foreach (var part in text.Split(','))
        {
            if (!ClassRange.TryParse(part, out var from, out var to)) return false;
            for (var c = from; c <= to; c++)
                if (!list.Contains(c)) list.Add(c);
        }
        classes = list;
        return list.Count > 0;
    }

    /// <summary><c>0-4</c>, <c>0,2,5-7</c>: runs of consecutive ids as ranges.</summary>
    public static string FormatClasses(IReadOnlyList<long> classes)
    {
        var parts = new List<string>();
        for (var i = 0; i < classes.Count;)
        {
            var j = i;
            while (j + 1 < classes.Count && classes[j + 1] == classes[j] + 1) j++;
            parts.Add(j == i ? $"{classes[i]}" : $"{classes[i]}-{classes[j]}");
            i = j + 1;
        }
        return string.Join(",", parts);
    }
}
