using TorchSharp;
using TorchSharp.Modules;
using ZipIt.Engine.Zip;
using static TorchSharp.torch;

namespace ZipIt.Engine.Repair;

/// <summary>
/// Which merged units REPAIR corrects, read from the merge graph alone: for every point the zip
/// merged, the outputs of its writers that an affine map of their own parameters corrects exactly
/// and that no BatchNorm will reset.
/// <list type="bullet">
/// <item>An affine norm without running statistics in the space (LayerNorm, GroupNorm): its output,
/// folded into its weight and bias. A ViT's norm1, norm2 and final norm read the residual stream
/// and hand it to qkv, fc1 and the head, so correcting them corrects what every block reads; a
/// GroupNorm ResNet's norms are each branch's output before the residual addition.</item>
/// <item>A conv or linear producer with a bias, in a space with no BatchNorm: its output before the
/// activation, folded into its rows and bias. A ViT's fc1 (the MLP hidden units, before GELU);
/// q, k and v as three slices of qkv (each one merged space's units: v's correction passes through
/// the attention average unchanged, and q's and k's restore the scale of the attention logits);
/// and the writers of the residual stream (patch embedding, every attn.proj and mlp.fc2), each
/// branch corrected before its residual addition, as REPAIR corrects a ResNet's branches. The
/// stream itself is one space written by all of them, so no single correction of it exists; with
/// every writer and every reader corrected, each block adds and reads statistics of the base
/// models' scale.</item>
/// </list>
/// Left out, each with its reason: BatchNorm (the merged model's BatchNorm reset repairs it; a
/// correction folded into its weight before the reset would be contradicted by the new statistics), producers without a
/// bias (nothing to shift), scale-only vectors (LayerScale), parameters that are no module's output
/// (class token, position embedding), modules of another type than conv, linear, LayerNorm and
/// GroupNorm, and everything in a partial zip's heads (each is its model's own).
/// </summary>
internal sealed record RepairPlan(IReadOnlyList<RepairSite> Sites, IReadOnlyList<string> Skipped)
{
    public static RepairPlan For(nn.Module model, MergeGraph graph, int? stopStage)
    {
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);
        var sites = new List<RepairSite>();
        var skipped = new List<string>();
        foreach (var space in Zipper.PointsUpTo(graph, stopStage))
        {
            bool InTrunk(TensorAxis axis) => stopStage is not { } s || graph.StageOf(axis.Tensor) is var st && st >= 0 && st <= s;
            var batchNorm = space.Norms.Any(a => a.Kind is TensorKind.RunningMean or TensorKind.RunningVar);

            foreach (var norm in space.Norms.Where(InTrunk).GroupBy(a => (Module: ModuleOf(a.Tensor), a.Offset, a.Length)))
            {
                var (module, offset, length) = norm.Key;
                var weight = norm.FirstOrDefault(a => a.Kind == TensorKind.NormWeight);
                var bias = norm.FirstOrDefault(a => a.Kind == TensorKind.NormBias);
                if (norm.Any(a => a.Kind is TensorKind.RunningMean or TensorKind.RunningVar))
                    skipped.Add($"{module}: a BatchNorm, repaired by the merged model's BatchNorm reset");
                else if (weight is null || bias is null)
                    skipped.Add($"{module}: no {(weight is null ? "weight" : "bias")} to fold a correction into");
                else if (Axis(modules, module) is not { } axis)
                    skipped.Add($"{module}: a {TypeOf(modules, module)}, not a LayerNorm or GroupNorm");
                else
                    sites.Add(new RepairSite(space.Name, module, RepairSiteKind.Norm, graph.StageOf(weight.Tensor), axis, offset, length ?? space.Width, [weight], bias)
                    {
                        IsSlice = length is not null,
                    });
            }

            foreach (var rows in space.Producers.Where(a => a.Kind == TensorKind.Weight && InTrunk(a)).GroupBy(a => (Module: ModuleOf(a.Tensor), a.Offset, a.Length)))
            {
                var (module, offset, length) = rows.Key;
                var bias = space.Producers.FirstOrDefault(a => a.Kind == TensorKind.Bias && ModuleOf(a.Tensor) == module && a.Offset == offset && a.Length == length);
                var what = length is null ? module : $"{module}[{offset}..{offset + length})";
                if (batchNorm)
                    skipped.Add($"{what}: normalised by a BatchNorm, repaired by the merged model's BatchNorm reset");
                else if (bias is null)
                    skipped.Add($"{what}: no bias to shift its output by");
                else if (Axis(modules, module) is not { } axis || modules[module] is LayerNorm or GroupNorm or NormBase)
                    skipped.Add($"{what}: a {TypeOf(modules, module)}, not a conv or linear layer");
                else
                    sites.Add(new RepairSite(space.Name, module, RepairSiteKind.Producer, graph.StageOf(bias.Tensor), axis, offset, length ?? space.Width,
                        [.. rows], bias)
                    {
                        IsSlice = length is not null,
                    });
            }
            foreach (var embedding in space.Producers.Where(a => a.Kind == TensorKind.Embedding && InTrunk(a)))
                skipped.Add($"{embedding.Tensor}: a parameter, no module's output");
        }
        return new RepairPlan(sites, skipped);
    }

    /// <summary>The module a state-dict key belongs to: <c>blocks.0.mlp.fc1.weight</c> → <c>blocks.0.mlp.fc1</c>.</summary>
    private static string ModuleOf(string tensor) => tensor.LastIndexOf('.') is var dot and > 0 ? tensor[..dot] : tensor;

    /// <summary>
    /// The axis of the module's output that holds its channels: the last for linear layers and
    /// LayerNorm (they act on the trailing axis), 1 for convolutions, GroupNorm and BatchNorm
    /// (channels-first maps); null for any other module (or none).
    /// </summary>
    private static int? Axis(IReadOnlyDictionary<string, nn.Module> modules, string module) => modules.GetValueOrDefault(module) switch
    {
        Linear or LayerNorm => -1,
        Convolution or GroupNorm or NormBase => 1,
        _ => null,
    };

    private static string TypeOf(IReadOnlyDictionary<string, nn.Module> modules, string module) =>
        modules.GetValueOrDefault(module)?.GetType().Name ?? "tensor of no module";
}
