using TorchSharp;
using static TorchSharp.torch;
using ZipIt.Engine.Zip;

namespace ZipIt.Engine.Refit;

/// <summary>
/// Which layers of a merged model a refit solves for, from the architecture's merge description
/// alone: every conv and linear module of the merged trunk (the whole model after a full zip, the
/// stages up to the stop after a partial one: the heads are each model's own and stay as they are)
/// whose weight's output rows and input columns the graph assigns to merge points or to the model's
/// outputs and inputs.
/// </summary>
internal sealed record RefitPlan(IReadOnlyList<RefitLayer> Layers, IReadOnlyList<string> Skipped)
{
    /// <summary>The plan for <paramref name="model"/> (a merged trunk) of graph <paramref name="graph"/>, zipped up to <paramref name="stopStage"/> (null: a full zip).</summary>
    public static RefitPlan For(nn.Module model, MergeGraph graph, int? stopStage)
    {
        var points = Zipper.PointsUpTo(graph, stopStage);
        var layers = new List<RefitLayer>();
        var skipped = new List<string>();
        foreach (var (name, module) in model.named_modules())
        {
            var weight = module.named_parameters(recurse: false).FirstOrDefault(p => p.name == "weight").parameter;
            if (weight is null || weight.dim() < 2) continue;
            var key = $"{name}.weight";
            var stage = graph.StageOf(key);
            if (stage < 0 || (stopStage is { } stop && stage > stop)) continue;
            var outputs = Slices(key, 0, weight.shape[0], points.SelectMany(p => p.Producers.Select(a => (a, (string?)p.Name))).Concat(graph.Outputs.Select(a => (a, (string?)null))), out var outputGap);
            var inputs = Slices(key, 1, weight.shape[1], points.SelectMany(p => p.Consumers.Select(a => (a, (string?)p.Name))).Concat(graph.Inputs.Select(a => (a, (string?)null))), out var inputGap);
            if (outputGap is not null || inputGap is not null)
            {
                skipped.Add($"{name}: its {(outputGap is not null ? "output" : "input")} channels {outputGap ?? inputGap} belong to no merge point");
                continue;
            }
            var layer = RefitLayer.From(name, module, stage, inputs, outputs, out var why);
            if (layer is null) skipped.Add($"{name}: {why}");
            else layers.Add(layer);
        }
        return new RefitPlan(layers, skipped);
    }

    /// <summary>The runs of <paramref name="key"/>'s axis <paramref name="axis"/> (length <paramref name="length"/>) that <paramref name="owners"/> claim, in order; <paramref name="gap"/> names the first unclaimed run.</summary>
    private static IReadOnlyList<ChannelSlice> Slices(string key, int axis, long length, IEnumerable<(TensorAxis Axis, string? Space)> owners, out string? gap)
    {
        var slices = owners.Where(o => o.Axis.Tensor == key && o.Axis.Axis == axis)
            .Select(o => new ChannelSlice(o.Axis.Offset, o.Axis.Length ?? length - o.Axis.Offset, o.Space))
            .OrderBy(s => s.Offset).ToList();
        gap = null;
        long next = 0;
        foreach (var s in slices)
        {
            if (s.Offset != next)
            {
                gap = s.Offset > next ? $"[{next}, {s.Offset})" : $"[{s.Offset}, {next}) (claimed twice)";
                return slices;
            }
            next = s.Offset + s.Length;
        }
        if (next != length) gap = $"[{next}, {length})";
        return slices;
    }
}
