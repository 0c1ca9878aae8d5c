using System.Globalization;
using ScottPlot;
using ZipIt.Engine.Output;

namespace ZipIt.Engine.Reproduce;

/// <summary>
/// One line of <see cref="ReportPlots.StopPoints"/>: accuracy (%) as mean ± standard deviation over
/// runs at partial-zip stop points <c>X</c>. A <see cref="Reference"/> series (an ensemble, one of
/// the endpoint models) is drawn as a dashed horizontal line at the mean of its points (their X
/// values are ignored; one point is usual), with its ± std band shaded.
/// </summary>
internal sealed record StopPointSeries(string Name, IReadOnlyList<(double X, double Mean, double Std)> Points, bool Reference = false);

/// <summary>
/// The report's figures, drawn with ScottPlot 5 (SkiaSharp) as 800×500 PNGs, each written through
/// a temporary file in the same folder and a rename (<see cref="AtomicFile"/>). The same input gives
/// byte-identical files (ScottPlot writes no time stamp; fonts come from the machine, so another
/// machine may draw other glyphs).
/// </summary>
internal static class ReportPlots
{
    public const int Width = 800;
    public const int Height = 500;

    /// <summary>
    /// Accuracy (%) against the partial-zip stop point: one line per non-reference series, with
    /// error bars of ± std; reference series as dashed horizontal lines. The x axis has a tick per
    /// stop point (the distinct X of the non-reference series, sorted), labelled
    /// <c>flops[i].Label</c>, or <c>"X/N"</c> (N the largest X) when <paramref name="flops"/> is
    /// empty. <c>flops[i].Flops</c> (in GFLOPs) is drawn against a right-hand axis; when given,
    /// <paramref name="flops"/> has one entry per stop point.
    /// </summary>
    public static void StopPoints(string path, string title, IReadOnlyList<StopPointSeries> series, IReadOnlyList<(string Label, double Flops)> flops)
    {
        var stops = series.Where(s => !s.Reference).SelectMany(s => s.Points.Select(p => p.X)).Distinct().Order().ToArray();
        if (flops.Count > 0 && flops.Count != stops.Length)
            throw new ArgumentException($"{flops.Count} FLOPs entries for {stops.Length} stop points ({string.Join(", ", stops)})", nameof(flops));
        var last = stops.Length > 0 ? stops[^1] : 0;
        var labels = flops.Count > 0 ? flops.Select(f => f.Label).ToArray() : stops.Select(x => $"{Number(x)}/{Number(last)}").ToArray();

        using var plot = NewPlot();
        plot.Title(title);
        plot.XLabel("stop point (layers zipped)");
        plot.YLabel("accuracy (%)");
        var palette = new ScottPlot.Palettes.Category10();
        var colour = 0;
        foreach (var s in series.Where(s => !s.Reference))
        {
            var points = s.Points.OrderBy(p => p.X).ToArray();
            var color = palette.GetColor(colour++);
            var xs = points.Select(p => p.X).ToArray();
            var ys = points.Select(p => p.Mean).ToArray();
            if (points.Any(p => p.Std > 0))
            {
                var bars = plot.Add.ErrorBar(xs, ys, points.Select(p => p.Std).ToArray());
                bars.Color = color;
                bars.LineWidth = 1.5f;
            }
            var line = plot.Add.Scatter(xs, ys, color);
            line.LegendText = s.Name;
            line.LineWidth = 2;
            line.MarkerSize = 7;
        }
        foreach (var s in series.Where(s => s.Reference && s.Points.Count > 0))
        {
            var color = palette.GetColor(colour++);
            var mean = s.Points.Average(p => p.Mean);
            var std = s.Points.Average(p => p.Std);
            if (std > 0)
            {
                var band = plot.Add.HorizontalSpan(mean - std, mean + std);
                band.FillStyle.Color = color.WithAlpha(0.12);
                band.LineStyle.Width = 0;
            }
            var line = plot.Add.HorizontalLine(mean, 1.5f, color, LinePattern.Dashed);
            line.LegendText = s.Name;
        }
        if (flops.Count > 0)
        {
            var cost = plot.Add.Scatter(stops, flops.Select(f => f.Flops).ToArray(), Colors.Gray);
            cost.LinePattern = LinePattern.Dotted;
            cost.MarkerShape = MarkerShape.OpenSquare;
            cost.MarkerSize = 7;
            cost.LegendText = "FLOPs (G)";
            cost.Axes.YAxis = plot.Axes.Right;
            plot.Axes.Right.Label.Text = "FLOPs (G)";
        }
        if (stops.Length > 0)
        {
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(stops, labels);
            var margin = stops.Length > 1 ? (stops[^1] - stops[0]) * 0.05 : 0.5;
            plot.Axes.SetLimitsX(stops[0] - margin, stops[^1] + margin);
        }
        plot.ShowLegend(Edge.Bottom);
        Save(plot, path);
    }

    /// <summary>
    /// The α × β grid as a heatmap: <c>accuracy[i, j]</c> (%) for <c>alphas[i]</c> (rows, y axis)
    /// and <c>betas[j]</c> (columns, x axis), its value written in each cell (a NaN cell, not
    /// evaluated, is grey and says "–"), and the <paramref name="chosen"/> cell (indices into
    /// <paramref name="alphas"/> and <paramref name="betas"/>) outlined in red.
    /// </summary>
    public static void Grid(string path, string title, IReadOnlyList<double> alphas, IReadOnlyList<double> betas, double[,] accuracy, (int Alpha, int Beta) chosen)
    {
        var (rows, cols) = (alphas.Count, betas.Count);
        if (accuracy.GetLength(0) != rows || accuracy.GetLength(1) != cols)
            throw new ArgumentException($"accuracy is {accuracy.GetLength(0)}×{accuracy.GetLength(1)}, the grid {rows} α × {cols} β", nameof(accuracy));
        if (chosen.Alpha < 0 || chosen.Alpha >= rows || chosen.Beta < 0 || chosen.Beta >= cols)
            throw new ArgumentOutOfRangeException(nameof(chosen), $"({chosen.Alpha}, {chosen.Beta}) is outside the {rows}×{cols} grid");

        using var plot = NewPlot();
        plot.Title(title);
        plot.XLabel("β");
        plot.YLabel("α");
        // ScottPlot places the heatmap's outer cells' centres on the corners of its Position and
        // takes the cell size from (count - 1) gaps, so a single row or column gets a NaN twin
        // outside the axis limits. Data row r is drawn at y = last - r: the first α at the bottom.
        var (dataRows, dataCols) = (Math.Max(rows, 2), Math.Max(cols, 2));
        var cells = new double[dataRows, dataCols];
        for (var r = 0; r < dataRows; r++)
            for (var c = 0; c < dataCols; c++)
                cells[r, c] = double.NaN;
        for (var i = 0; i < rows; i++)
            for (var j = 0; j < cols; j++)
                cells[dataRows - 1 - i, j] = accuracy[i, j];
        var heatmap = plot.Add.Heatmap(cells);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.Position = new CoordinateRect(0, dataCols - 1, 0, dataRows - 1);
        heatmap.NaNCellColor = Colors.LightGray;
        var bar = plot.Add.ColorBar(heatmap);
        bar.Label = "accuracy (%)";

        var finite = Values(accuracy).Where(double.IsFinite).ToArray();
        var (low, high) = finite.Length > 0 ? (finite.Min(), finite.Max()) : (0, 1);
        for (var i = 0; i < rows; i++)
            for (var j = 0; j < cols; j++)
            {
                var v = accuracy[i, j];
                var text = plot.Add.Text(double.IsFinite(v) ? v.ToString("0.0", CultureInfo.InvariantCulture) : "–", j, i);
                text.LabelAlignment = Alignment.MiddleCenter;
                text.LabelFontSize = Math.Clamp(200f / Math.Max(rows, cols), 9f, 16f);
                text.LabelBold = (i, j) == chosen;
                // Viridis is dark at the low end: white there, black on the light high end.
                var shade = double.IsFinite(v) && high > low ? (v - low) / (high - low) : 1;
                text.LabelFontColor = shade > 0.6 ? Colors.Black : Colors.White;
            }
        const double inset = 0.46; // inside the cell, so the frame of the axes does not hide an edge
        var mark = plot.Add.Rectangle(chosen.Beta - inset, chosen.Beta + inset, chosen.Alpha - inset, chosen.Alpha + inset);
        mark.FillStyle.Color = Colors.Transparent;
        mark.LineStyle.Color = Colors.Red;
        mark.LineStyle.Width = 3;

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, cols).Select(j => (double)j).ToArray(), betas.Select(Number).ToArray());
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, rows).Select(i => (double)i).ToArray(), alphas.Select(Number).ToArray());
        plot.Axes.SetLimits(-0.5, cols - 0.5, -0.5, rows - 0.5);
        Save(plot, path);
    }

    /// <summary>A plot in DejaVu Sans where the machine has it (most Linux systems), else ScottPlot's default font.</summary>
    private static Plot NewPlot()
    {
        var plot = new Plot();
        if (SkiaSharp.SKFontManager.Default.GetFontFamilies().Contains("DejaVu Sans")) plot.Font.Set("DejaVu Sans");
        return plot;
    }

    private static IEnumerable<double> Values(double[,] a)
    {
        foreach (var v in a) yield return v;
    }

    private static string Number(double x) => x.ToString("G4", CultureInfo.InvariantCulture);

    private static void Save(Plot plot, string path) =>
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(Width, Height, ImageFormat.Png));
}
