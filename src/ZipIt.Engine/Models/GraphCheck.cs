using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Models;

/// <summary>
/// Checks a plugin's merge description against the model the plugin built, on every load: a graph
/// that does not fit its own model is the plugin's bug (exit 4), and found before any stage runs.
/// </summary>
internal static class GraphCheck
{
    /// <summary>Throws <see cref="ZipItException.Plugin"/> naming the first problem <see cref="MergeGraph.Validate"/> reports.</summary>
    public static void Require(string plugin, ArchitectureConfig config, MergeGraph graph, StagedModel model)
    {
        var problems = graph.Validate(Signatures(model));
        if (problems.Count == 0) return;
        var more = problems.Count > 1 ? $" (+{problems.Count - 1} more)" : "";
        throw ZipItException.Plugin($"plugin {plugin} describes variant {config.Variant} inconsistently: {problems[0]}{more}");
    }

    /// <summary>The model's tensors as a checkpoint of it would list them.</summary>
    public static Dictionary<string, TensorSignature> Signatures(StagedModel model) =>
        model.state_dict().ToDictionary(
            kv => kv.Key,
            kv => new TensorSignature(SafetensorsDType.TryFromScalarType(kv.Value.dtype, out var code) ? code : kv.Value.dtype.ToString(), kv.Value.shape));
}
