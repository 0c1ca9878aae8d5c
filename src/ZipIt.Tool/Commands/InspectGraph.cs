using ZipIt.Engine.Models;
using ZipIt.Engine.Output;
using ZipIt.Hosting;

using ZipIt.Engine.Checkpoints;

namespace ZipIt.Commands;

/// <summary>
/// <c>inspect --graph</c>: a variant's or a checkpoint's merge graph as the engine reads it: every
/// feature space with its tensor axes, taps and groups, the stages with their modules, output space
/// and stop labels, and the model's declared inputs and outputs.
/// </summary>
internal static class InspectGraph
{
    /// <summary>Writes the graph of <paramref name="config"/> (text, or JSON with <paramref name="json"/>).</summary>
    public static int Write(CommandContext ctx, IArchitecture architecture, ArchitectureConfig config, string source, bool json)
    {
        var plugin = ctx.Plugins.Architectures.First(a => a.Architecture == architecture).Plugin;
        var graph = architecture.Describe(config);
        if (json)
        {
            Json.Write(ctx.Out, new
            {
                version = 1,
                source,
                architecture = new
                {
                    name = architecture.Name,
                    variant = config.Variant,
                    settings = config.Settings,
                    plugin = plugin.Name,
                    pluginVersion = plugin.Version,
                },
                graph = new
                {
                    layerCount = graph.LayerCount,
                    inputs = graph.Inputs.Select(AxisJson),
                    outputs = graph.Outputs.Select(AxisJson),
                    spaces = graph.Spaces.Select(s => new
                    {
                        name = s.Name,
                        width = s.Width,
                        groups = s.Groups?.Count,
                        groupTie = s.GroupTie,
                        residualStream = s.IsResidualStream,
                        producers = s.Producers.Select(AxisJson),
                        norms = s.Norms.Select(AxisJson),
                        consumers = s.Consumers.Select(AxisJson),
                        taps = s.Taps.Select(t => new
                        {
                            module = t.Module,
                            site = t.Site.ToString().ToLowerInvariant(),
                            channelAxis = t.ChannelAxis,
                            offset = t.Offset,
                            length = t.Length,
                            set = t.Set,
                        }),
                    }),
                    stages = graph.Stages.Select(st => new
                    {
                        name = st.Name,
                        modules = st.Modules,
                        outputSpace = st.OutputSpace,
                        outputChannelAxis = st.OutputChannelAxis,
                        stopLabel = st.StopLabel is { } l ? $"{l}/{graph.LayerCount}" : null,
                    }),
                },
            });
            return 0;
        }

        var o = ctx.Out;
        o.WriteLine($"source:       {source}");
        o.WriteLine($"architecture: {config} [{plugin.Name} {plugin.Version}]");
        o.WriteLine($"layers:       {graph.LayerCount}");
        o.WriteLine($"inputs:       {Axes(graph.Inputs)}");
        o.WriteLine($"outputs:      {Axes(graph.Outputs)}");
        o.WriteLine($"spaces:       {graph.Spaces.Count}");
        foreach (var s in graph.Spaces)
        {
            var traits = new List<string> { $"width {s.Width}" };
            if (s.Groups is { } g) traits.Add($"{g.Count} groups of {s.Width / Math.Max(1, g.Count)}");
            if (s.GroupTie is { } tie) traits.Add($"tie {tie}");
            if (s.IsResidualStream) traits.Add("residual stream");
            o.WriteLine($"  {s.Name}: {string.Join(", ", traits)}");
            var parts = new TextTable();
            parts.Add("producers", Axes(s.Producers));
            parts.Add("norms", Axes(s.Norms));
            parts.Add("consumers", Axes(s.Consumers));
            parts.Add("taps", s.Taps.Count == 0 ? "none" : string.Join(", ", s.Taps.Select(Tap)));
            parts.Write(o, "    ");
        }
        o.WriteLine($"stages:       {graph.Stages.Count}");
        var stages = new TextTable("name", "modules", "output space", "channel axis", "stop");
        foreach (var st in graph.Stages)
            stages.Add(st.Name, string.Join(", ", st.Modules), st.OutputSpace ?? "-",
                st.OutputSpace is null ? "-" : st.OutputChannelAxis.ToString(System.Globalization.CultureInfo.InvariantCulture),
                st.StopLabel is { } l ? $"{l}/{graph.LayerCount}" : "-");
        stages.Write(o, "  ");
        return 0;
    }

    private static object AxisJson(TensorAxis a) => new
    {
        tensor = a.Tensor,
        axis = a.Axis,
        kind = a.Kind,
        offset = a.Offset,
        length = a.Length,
    };

    private static string Axes(IReadOnlyList<TensorAxis> axes) => axes.Count == 0 ? "none" : string.Join(", ", axes.Select(Axis));

    /// <summary><c>tensor[axis]</c>, or <c>tensor[axis, start..end]</c> for a slice.</summary>
    private static string Axis(TensorAxis a) =>
        a.Length is null && a.Offset == 0 ? $"{a.Tensor}[{a.Axis}]" : $"{a.Tensor}[{a.Axis}, {a.Offset}..{(a.Length is { } n ? (a.Offset + n).ToString(System.Globalization.CultureInfo.InvariantCulture) : "")}]";

    private static string Tap(FeatureTap t)
    {
        var text = $"{t.Site.ToString().ToLowerInvariant()} of {t.Module} (axis {t.ChannelAxis}";
        if (t.Offset != 0 || t.Length is not null) text += $", channels {t.Offset}..{(t.Length is { } n ? (t.Offset + n).ToString(System.Globalization.CultureInfo.InvariantCulture) : "")}";
        if (t.Set is { } set) text += $", set {set}";
        return text + ")";
    }
}
