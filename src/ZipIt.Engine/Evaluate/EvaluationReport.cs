using System.Globalization;
using System.Text;
using ZipIt.Engine.Output;

namespace ZipIt.Engine.Evaluate;

/// <summary>One evaluated model (or ensemble): accuracies in [0, 1], FLOPs as multiply-accumulates per image.</summary>
internal sealed record EvaluationResult(string Label, IReadOnlyList<string> Models, int Heads, long Flops, double Joint,
    IReadOnlyDictionary<string, double> Tasks, double Avg);

/// <summary>The versioned report of <c>evaluate</c> (JSON) and its Markdown table. Fields are only ever added.</summary>
internal sealed record EvaluationReport(int Version, string Data, long Images, string Head,
    IReadOnlyList<EvaluationReport.TaskEntry> Tasks, IReadOnlyList<EvaluationResult> Results)
{
    public const int CurrentVersion = 1;

    public sealed record TaskEntry(string Name, IReadOnlyList<long> Classes, long Images);

    /// <summary>The images every model's BatchNorm statistics were reset on before it was evaluated (<c>--reset-bn-data</c>); null: as given.</summary>
    public sealed record ResetBnEntry(string Data, long Images);

    public ResetBnEntry? ResetBn { get; init; }

    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        sb.Append("| Model | Heads | FLOPs | Joint | ").Append(string.Join(" | ", Tasks.Select(t => $"Task {t.Name}"))).Append(" | Avg |\n");
        sb.Append("|---|---:|---:|---:|").Append(string.Concat(Tasks.Select(_ => "---:|"))).Append("---:|\n");
        foreach (var r in Results)
        {
            sb.Append("| ").Append(r.Label).Append(" | ").Append(r.Heads).Append(" | ").Append(Format.Macs(r.Flops)).Append(" | ")
                .Append(Format.Percent(r.Joint)).Append(" | ")
                .Append(string.Join(" | ", Tasks.Select(t => Format.Percent(r.Tasks[t.Name])))).Append(" | ")
                .Append(Format.Percent(r.Avg)).Append(" |\n");
        }
        return sb.ToString();
    }

}
