using TorchSharp;
using static TorchSharp.torch;

namespace ZipIt.Engine.Collect;

/// <summary>
/// What one image costs in a forward pass, in float32 elements: found by passing one blank image
/// through the model in eval mode without gradients (its weights and BatchNorm statistics are left
/// as they are), so that a command can tell how much its batches, taps and activations will need
/// before its real work starts. (libtorch's <c>meta</c> device, shapes without arithmetic, has no
/// convolution in this version, so the probe computes.)
/// </summary>
/// <param name="TapFloats">Elements every tapped feature space captures per image (summed over spaces; one model).</param>
/// <param name="Outputs">Every module output of the pass in the order they were made, with when each was freed.</param>
internal sealed record ForwardFootprint(long TapFloats, IReadOnlyList<ForwardFootprint.Output> Outputs)
{
    /// <summary>
    /// glibc's malloc serves blocks below this size from its heap once a larger block has been
    /// freed, and keeps them when they are freed (for reuse, not returned to the system); larger
    /// blocks are mapped and unmapped one by one. 32 MiB is its largest dynamic threshold on 64-bit.
    /// Measured: a ResNet-20×4 merge at batch 100 (26 MB activations) peaks at 2.2 GiB resident
    /// with only 0.8 GiB of it live at once (0.76 GiB with the threshold pinned at 1 MiB).
    /// </summary>
    public const long AllocatorKeepsBelowBytes = 32L << 20;

    /// <summary>One module output: its elements per image, the output count when it was made, and when it was freed (null: alive when the pass returned).</summary>
    public sealed record Output(long Elements, int Made, int? Freed);

    /// <summary>Elements of every module's output per image, summed: what training keeps for the backward pass.</summary>
    public long ActivationFloats => Outputs.Sum(o => o.Elements);

    /// <summary>
    /// Outputs of at least <see cref="AllocatorKeepsBelowBytes"/> at <paramref name="batchSize"/>
    /// still alive when the pass returns: what a pass leaves in its caller's dispose scope until the
    /// batch ends, beyond what <see cref="PeakResidentFloats"/> counts as kept anyway.
    /// </summary>
    public long RetainedLargeFloats(int batchSize) => Outputs.Where(o => o.Freed is null && !Kept(o, batchSize)).Sum(o => o.Elements);

    private static bool Kept(Output o, int batchSize) => 4L * batchSize * o.Elements < AllocatorKeepsBelowBytes;

    /// <summary>
    /// The most elements per image a pass of <paramref name="batchSize"/> images keeps resident:
    /// outputs the allocator keeps after they are freed (smaller than
    /// <see cref="AllocatorKeepsBelowBytes"/> at this batch size) all count, larger ones only while
    /// they are alive. A block that runs in its own dispose scope (the ResNet plugin's blocks) frees
    /// its intermediates as it returns.
    /// </summary>
    public long PeakResidentFloats(int batchSize)
    {
        var kept = Outputs.Where(o => Kept(o, batchSize)).Sum(o => o.Elements);
        long peak = 0;
        for (var t = 0; t < Outputs.Count; t++)
            peak = Math.Max(peak, Outputs.Where(o => !Kept(o, batchSize) && o.Made <= t && (o.Freed is null || o.Freed > t)).Sum(o => o.Elements));
        return kept + peak;
    }

    /// <summary>
    /// The footprint of <paramref name="model"/> (on <paramref name="device"/>) on images of shape
    /// <paramref name="image"/> [C, H, W...] observed at <paramref name="spaces"/>, or null when the
    /// model does not run on such an image (the command's own checks report that).
    /// </summary>
    public static ForwardFootprint? Probe(nn.Module<Tensor, Tensor> model, Device device, IReadOnlyList<FeatureSpace> spaces, long[] image,
        IReadOnlyCollection<string>? tapSets = null)
    {
        // Outputs by identity: a module that returns its input (in-place ReLU, Identity) adds nothing.
        var made = new List<(Tensor Tensor, long Elements)>();
        var freed = new List<int?>();
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        void NoteFreed()
        {
            for (var i = 0; i < made.Count; i++)
                if (freed[i] is null && made[i].Tensor.IsInvalid) freed[i] = made.Count;
        }
        var removers = new List<Action>();
        var training = model.training;
        try
        {
            model.eval();
            foreach (var (_, module) in model.named_modules())
                if (!module.children().Any() && module is nn.Module<Tensor, Tensor> leaf)
                    removers.Add(leaf.register_forward_hook((_, _, y) =>
                    {
                        NoteFreed();
                        if (seen.Add(y))
                        {
                            made.Add((y, y.NumberOfElements));
                            freed.Add(null);
                        }
                        return null!;
                    }).remove);
            using var taps = new FeatureTaps(model, spaces, tapSets);
            using var _ = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            model.call(torch.zeros([1, .. image], device: device));
            NoteFreed();
            var tapped = spaces.Sum(s => taps.Take(s.Name).Sum(t => { using (t) return t.NumberOfElements; }));
            return new ForwardFootprint(tapped, made.Select((m, i) => new Output(m.Elements, i, freed[i])).ToList());
        }
        catch (Exception e) when (e is ArgumentException or System.Runtime.InteropServices.ExternalException or InvalidOperationException)
        {
            return null;
        }
        finally
        {
            foreach (var remove in removers) remove();
            model.train(training);
        }
    }
}
