using System.Globalization;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Zip;

/// <summary>
/// Reads <c>--stop</c>: the paper's n of "ZipIt!n/m" (<c>7</c> or <c>7/20</c>), a stage name
/// (<c>layer1</c>) or a merge-point name (<c>layer1</c>, the space a stage ends in). m itself means a
/// full zip. Only stage boundaries are stop points: there every head reads one and the same tensor.
/// </summary>
internal static class StopPoint
{
    /// <summary>The index of the last merged stage, or null for a full zip.</summary>
    public static int? Parse(string? value, MergeGraph graph, ArchitectureConfig config)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        var text = value.Trim();
        var label = text.Contains('/') ? text[..text.IndexOf('/')] : text;
        if (int.TryParse(label, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
        {
            if (text.Contains('/') && text[(text.IndexOf('/') + 1)..] != graph.LayerCount.ToString(CultureInfo.InvariantCulture))
                throw Invalid(value, graph, config);
            if (n == graph.LayerCount) return null;
            var byLabel = graph.Stages.ToList().FindIndex(s => s.StopLabel == n);
            return byLabel >= 0 ? byLabel : throw Invalid(value, graph, config);
        }
        var byName = graph.Stages.ToList().FindIndex(s => s.StopLabel is not null && (s.Name == text || s.OutputSpace == text));
        return byName >= 0 ? byName : throw Invalid(value, graph, config);
    }

    /// <summary>"7/20" for a stop after stage <paramref name="stage"/>, "20/20" for a full zip.</summary>
    public static string Label(MergeGraph graph, int? stage) =>
        $"{(stage is { } s ? graph.Stages[s].StopLabel : graph.LayerCount)}/{graph.LayerCount}";

    private static ZipItException Invalid(string value, MergeGraph graph, ArchitectureConfig config) =>
        ZipItException.Usage($"--stop {value}: not a stop point of {config.Variant} (stop points: " +
            string.Join(", ", graph.Stages.Where(s => s.StopLabel is not null).Select(s => $"{s.StopLabel} ({s.Name})")) +
            $", {graph.LayerCount} (full zip))");
}
