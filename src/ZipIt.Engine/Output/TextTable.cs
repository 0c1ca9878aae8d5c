namespace ZipIt.Engine.Output;

/// <summary>
/// Plain, left-aligned columns for stdout. Deliberately not Spectre's Table: output that users pipe
/// and tests snapshot must not depend on terminal width or colour support.
/// </summary>
internal sealed class TextTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public TextTable Add(params string[] cells)
    {
        _rows.Add(cells);
        return this;
    }

    public int Count => _rows.Count;

    public void Write(TextWriter writer, string indent = "")
    {
        var all = headers.Length > 0 ? _rows.Prepend(headers).ToList() : _rows;
        var widths = Enumerable.Range(0, all.Max(r => r.Length)).Select(i => all.Max(r => i < r.Length ? r[i].Length : 0)).ToArray();
        foreach (var row in all)
            writer.WriteLine(indent + string.Join("  ", row.Select((c, i) => i == row.Length - 1 ? c : c.PadRight(widths[i]))).TrimEnd());
    }
}
