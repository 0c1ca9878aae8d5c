using SkiaSharp;
using ZipIt.Engine.Reproduce;

namespace ZipIt.Tests.Data;

/// <summary>
/// The report's PNGs. Set <c>ZIPIT_TEST_PLOTS</c> to a folder to keep a copy of each figure for
/// looking at.
/// </summary>
public sealed class ReportPlotsTests
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    internal static IReadOnlyList<StopPointSeries> Series() =>
    [
        new("Joint", [(7, 61.2, 1.1), (13, 70.5, 0.8), (20, 78.9, 0.5)]),
        new("Avg", [(7, 40.3, 2.0), (13, 45.1, 1.7), (20, 50.2, 1.5)]),
        new("Ensemble", [(0, 86.4, 0.3)], Reference: true),
        new("Model A", [(0, 48.0, 0.0)], Reference: true),
    ];

    internal static readonly (string, double)[] Flops = [("7/20", 1.9), ("13/20", 1.4), ("20/20", 0.7)];

    private static void AssertPng(TempDirectory dir, string name)
    {
        var path = dir.File(name);
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(PngSignature, bytes[..8]);
        Assert.True(bytes.Length > 10_000, $"{name} is only {bytes.Length} bytes");
        using var bitmap = SKBitmap.Decode(path);
        Assert.Equal((ReportPlots.Width, ReportPlots.Height), (bitmap.Width, bitmap.Height));
        // Written through a temporary file that is gone afterwards.
        Assert.Equal([name], dir.Names());
        if (Environment.GetEnvironmentVariable("ZIPIT_TEST_PLOTS") is { Length: > 0 } keep)
        {
            Directory.CreateDirectory(keep);
            File.Copy(path, Path.Combine(keep, name), overwrite: true);
        }
    }

    [Fact]
    public void Stop_points_are_drawn_to_a_png_the_same_each_time()
    {
        using var dir = new TempDirectory("zipit-plots");
        ReportPlots.StopPoints(dir.File("stops.png"), "Fashion-MNIST 0-4 + 5-9, ResNet-20×4", Series(), Flops);
        AssertPng(dir, "stops.png");

        using var again = new TempDirectory("zipit-plots");
        ReportPlots.StopPoints(again.File("stops.png"), "Fashion-MNIST 0-4 + 5-9, ResNet-20×4", Series(), Flops);
        Assert.Equal(File.ReadAllBytes(dir.File("stops.png")), File.ReadAllBytes(again.File("stops.png")));

        // Other data, other picture; without FLOPs the ticks are "X/N".
        ReportPlots.StopPoints(again.File("stops.png"), "no FLOPs", Series().Take(2).ToList(), []);
        Assert.NotEqual(File.ReadAllBytes(dir.File("stops.png")), File.ReadAllBytes(again.File("stops.png")));
    }

    [Fact]
    public void Stop_points_need_one_flops_entry_per_stop_point()
    {
        using var dir = new TempDirectory("zipit-plots");
        Assert.Throws<ArgumentException>(() => ReportPlots.StopPoints(dir.File("x.png"), "t", Series(), Flops[..2]));
        Assert.Empty(dir.Names());
    }

    internal static readonly double[] Alphas = [0.0, 0.25, 0.5, 0.75];
    internal static readonly double[] Betas = [0.0, 0.5, 1.0];

    internal static double[,] Accuracy()
    {
        var a = new double[Alphas.Length, Betas.Length];
        for (var i = 0; i < Alphas.Length; i++)
            for (var j = 0; j < Betas.Length; j++)
                a[i, j] = 60 + 5 * i + 3 * j - 2 * i * j;
        a[3, 2] = double.NaN;
        return a;
    }

    [Fact]
    public void The_alpha_beta_grid_is_drawn_to_a_png_the_same_each_time()
    {
        using var dir = new TempDirectory("zipit-plots");
        ReportPlots.Grid(dir.File("grid.png"), "α × β on the validation split", Alphas, Betas, Accuracy(), (2, 1));
        AssertPng(dir, "grid.png");

        using var again = new TempDirectory("zipit-plots");
        ReportPlots.Grid(again.File("grid.png"), "α × β on the validation split", Alphas, Betas, Accuracy(), (2, 1));
        Assert.Equal(File.ReadAllBytes(dir.File("grid.png")), File.ReadAllBytes(again.File("grid.png")));
        ReportPlots.Grid(again.File("grid.png"), "α × β on the validation split", Alphas, Betas, Accuracy(), (0, 0));
        Assert.NotEqual(File.ReadAllBytes(dir.File("grid.png")), File.ReadAllBytes(again.File("grid.png")));

        // A single α: one row of cells.
        using var line = new TempDirectory("zipit-plots");
        ReportPlots.Grid(line.File("grid-1xN.png"), "β only", [0.5], Betas, new double[,] { { 70.1, 71.2, 69.3 } }, (0, 1));
        AssertPng(line, "grid-1xN.png");
    }

    [Fact]
    public void A_grid_whose_shape_or_choice_does_not_fit_is_refused()
    {
        using var dir = new TempDirectory("zipit-plots");
        Assert.Throws<ArgumentException>(() => ReportPlots.Grid(dir.File("g.png"), "t", Alphas, Betas[..2], Accuracy(), (0, 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => ReportPlots.Grid(dir.File("g.png"), "t", Alphas, Betas, Accuracy(), (4, 0)));
        Assert.Empty(dir.Names());
    }
}
