using System.Globalization;

namespace ZipIt.Engine.Reproduce;

/// <summary>The report's figures: accuracy against the partial-zip stop point (FLOPs on a second axis) and the α × β grid.</summary>
internal static class ReproducePlots
{
    public const string StopPointsFile = "stop-points.png";
    public const string GridFile = "alpha-beta-grid.png";

    /// <summary>Writes the PNGs into <paramref name="folder"/>; returns their file names.</summary>
    public static IReadOnlyList<string> Write(ReproduceReport report, string folder)
    {
        var written = new List<string>();
        var zips = report.Results.Where(r => r.Method == "zipit" && r.Refit is null && !r.Repair)
            .Select(r => (Row: r, Fraction: r.Label["ZipIt!".Length..].Split('/')))
            .Select(z => (z.Row, Stop: double.Parse(z.Fraction[0], CultureInfo.InvariantCulture), Label: $"{z.Fraction[0]}/{z.Fraction[1]}"))
            .OrderBy(z => z.Stop).ToList();
        if (zips.Count > 0)
        {
            var series = new List<StopPointSeries>
            {
                new("ZipIt! joint", zips.Select(z => (z.Stop, z.Row.Joint.Mean, z.Row.Joint.Std)).ToList()),
                new("ZipIt! avg", zips.Select(z => (z.Stop, z.Row.Avg.Mean, z.Row.Avg.Std)).ToList()),
            };
            if (report.Results.FirstOrDefault(r => r.Method == "ensemble") is { } ensemble)
            {
                series.Add(new("Ensemble joint", [(0, ensemble.Joint.Mean, ensemble.Joint.Std)], Reference: true));
                series.Add(new("Ensemble avg", [(0, ensemble.Avg.Mean, ensemble.Avg.Std)], Reference: true));
            }
            ReportPlots.StopPoints(Path.Combine(folder, StopPointsFile), $"{report.Setting}: accuracy (%) against the partial-zip stop point",
                series, zips.Select(z => (z.Label, z.Row.Gflops)).ToList());
            written.Add(StopPointsFile);
        }
        var grid = report.Hyperparameters.Grid;
        if (grid.Count > 0)
        {
            var alphas = grid.Select(g => g.Alpha).Distinct().Order().ToList();
            var betas = grid.Select(g => g.Beta).Distinct().Order().ToList();
            var accuracy = new double[alphas.Count, betas.Count];
            for (var i = 0; i < alphas.Count; i++)
                for (var j = 0; j < betas.Count; j++)
                    accuracy[i, j] = grid.FirstOrDefault(g => g.Alpha == alphas[i] && g.Beta == betas[j])?.Joint ?? double.NaN;
            ReportPlots.Grid(Path.Combine(folder, GridFile), $"{report.Setting}: ZipIt! validation joint accuracy (%), pair 0", alphas, betas, accuracy,
                (alphas.IndexOf(report.Hyperparameters.Alpha), betas.IndexOf(report.Hyperparameters.Beta)));
            written.Add(GridFile);
        }
        return written;
    }
}
