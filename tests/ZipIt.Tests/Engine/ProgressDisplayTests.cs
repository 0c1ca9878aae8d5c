using ZipIt.Engine.Output;

namespace ZipIt.Tests.Engine;

/// <summary>When the stages that run over data show progress, and what a log gets: the decision table and the line form.</summary>
public sealed class ProgressDisplayTests
{
    [Theory]
    //          quiet  json   --progress terminal  →
    [InlineData(false, false, false, true, "Bar")]
    [InlineData(false, false, false, false, "None")]
    [InlineData(false, false, true, false, "Lines")]
    [InlineData(false, false, true, true, "Bar")]
    [InlineData(false, true, false, true, "None")]
    [InlineData(false, true, false, false, "None")]
    [InlineData(false, true, true, false, "Lines")]
    [InlineData(false, true, true, true, "Bar")]
    [InlineData(true, false, false, true, "None")]
    [InlineData(true, false, true, false, "None")]
    [InlineData(true, true, true, true, "None")]
    public void Progress_shows_on_a_terminal_or_when_asked_never_when_quiet(bool quiet, bool json, bool requested, bool terminal, string expected) =>
        Assert.Equal(expected, ProgressDisplay.Decide(quiet, json, requested, terminal).ToString());

    [Theory]
    [InlineData(0, "0:00")]
    [InlineData(59.4, "0:59")]
    [InlineData(3599, "59:59")]
    [InlineData(3600, "1:00:00")]
    [InlineData(23_700, "6:35:00")]
    [InlineData(90_061, "25:01:01")]
    public void Durations_read_as_minutes_under_an_hour_and_whole_hours_above(double seconds, string expected) =>
        Assert.Equal(expected, DurationText.Format(seconds));

    [Fact]
    public void Lines_mark_every_tenth_with_an_eta_and_the_end_and_the_work_sees_every_item()
    {
        var error = new StringWriter { NewLine = "\n" };
        var seen = new ProgressDisplay(error, ProgressMode.Lines).Over("collect", Enumerable.Range(0, 20), 20, items => items.ToList());
        Assert.Equal(Enumerable.Range(0, 20), seen);
        var lines = error.ToString().TrimEnd('\n').Split('\n');
        Assert.Equal(10, lines.Length);
        Assert.StartsWith("collect, batch 2/20: 10%, ETA ", lines[0]);
        Assert.StartsWith("collect, batch 18/20: 90%, ETA ", lines[8]);
        Assert.StartsWith("collect, batch 20/20: 100% in ", lines[9]);
    }

    [Fact]
    public void No_progress_writes_nothing_and_passes_the_items_through()
    {
        var error = new StringWriter();
        var items = new[] { 1, 2, 3 };
        Assert.Same(items, new ProgressDisplay(error, ProgressMode.None).Over("x", items, 3, i => i));
        Assert.Equal("", error.ToString());
    }

    [Theory]
    [InlineData(1, 100, 1)]
    [InlineData(100, 100, 1)]
    [InlineData(101, 100, 2)]
    [InlineData(24, 5, 5)]
    public void Batches_round_up(long count, int batchSize, long batches) =>
        Assert.Equal(batches, ProgressDisplay.Batches(count, batchSize));
}
