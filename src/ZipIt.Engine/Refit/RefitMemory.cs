using TorchSharp;
using ZipIt.Engine.Zip;
using static TorchSharp.torch;

namespace ZipIt.Engine.Refit;

/// <summary>
/// The memory a refit holds while it runs, beyond the models and their forward passes: estimated
/// before any work from the layers it will solve (a base model has the merged trunk's shapes) and
/// one blank image through a base model. Teacher-forced, every layer's moments are held at once and
/// a batch holds the captures of a whole stage (each layer's merged-layout input and target, float32);
/// sequential, one layer's of each. Either way one chunk of float64 rows and targets is formed at a
/// time, with the float32 patches and copies it is made from.
/// </summary>
internal static class RefitMemory
{
    /// <summary>Bytes of one chunk's rows and targets in float64 and the float32 patches, transposed copy and bias column they are made from.</summary>
    public const long ChunkBytes = 4 * 8 * RefitStage.ChunkElements;

    /// <summary>The refit's own bytes for models shaped like <paramref name="model"/> at <paramref name="batchSize"/> images of <paramref name="image"/>; 0 when it has no layer to solve.</summary>
    public static long Bytes(StagedModel model, Device device, MergeGraph graph, int? stopStage, long[] image, int batchSize, RefitVariant variant)
    {
        var plan = RefitPlan.For(model, graph, stopStage);
        if (plan.Layers.Count == 0 || image.Length == 0) return 0;
        var perImage = CapturedFloats(model, device, plan.Layers, image);
        var teacher = variant == RefitVariant.Teacher;
        var moments = plan.Layers.Select(l => LayerMoments.BytesFor(l.Features, l.OutChannels)).ToList();
        var captured = teacher
            ? plan.Layers.GroupBy(l => l.Stage).Max(stage => stage.Sum(l => perImage.GetValueOrDefault(l.Name)))
            : plan.Layers.Max(l => perImage.GetValueOrDefault(l.Name));
        return (teacher ? moments.Sum() : moments.Max()) + 4L * batchSize * captured + ChunkBytes;
    }

    /// <summary>Per layer, the elements of its input and output for one image (summed over its calls in a pass).</summary>
    private static Dictionary<string, long> CapturedFloats(StagedModel model, Device device, IReadOnlyList<RefitLayer> layers, long[] image)
    {
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);
        var floats = new Dictionary<string, long>();
        var removers = new List<Action>();
        try
        {
            foreach (var layer in layers)
            {
                if (!modules.TryGetValue(layer.Name, out var module) || module is not nn.Module<Tensor, Tensor> hookable) continue;
                removers.Add(hookable.register_forward_hook((_, x, y) =>
                {
                    floats[layer.Name] = floats.GetValueOrDefault(layer.Name) + x.numel() + y.numel();
                    return null!;
                }).remove);
            }
            model.eval();
            using var _ = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            model.forward_stages(torch.zeros([1, .. image], ScalarType.Float32, device), 0, layers.Max(l => l.Stage) + 1);
        }
        finally
        {
            foreach (var remove in removers) remove();
        }
        return floats;
    }
}
