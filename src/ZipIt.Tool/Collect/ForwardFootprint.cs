using TorchSharp;
using static TorchSharp.torch;

namespace ZipIt.Collect;

/// <summary>
/// What one image costs in a forward pass, in float32 elements: found by passing one blank image
/// through the model in eval mode without gradients (its weights and BatchNorm statistics are left
/// as they are), so that a command can tell how much its batches, taps and activations will need
/// before its real work starts. (libtorch's <c>meta</c> device, shapes without arithmetic, has no
/// convolution in this version, so the probe computes.)
/// </summary>
/// <param name="TapFloats">Elements every tapped feature space captures per image (summed over spaces; one model).</param>
/// <param name="LargestSpaceFloats">Elements of the largest single space's taps per image (one model).</param>
/// <param name="ActivationFloats">Elements of every module's output per image, summed: what a batch holds until its dispose scope ends, and what training keeps for the backward pass.</param>
internal sealed record ForwardFootprint(long TapFloats, long LargestSpaceFloats, long ActivationFloats)
{
    /// <summary>
    /// The footprint of <paramref name="model"/> (on <paramref name="device"/>) on images of shape
    /// <paramref name="image"/> [C, H, W...] observed at <paramref name="spaces"/>, or null when the
    /// model does not run on such an image (the command's own checks report that).
    /// </summary>
    public static ForwardFootprint? Probe(nn.Module<Tensor, Tensor> model, Device device, IReadOnlyList<FeatureSpace> spaces, long[] image,
        IReadOnlyCollection<string>? tapSets = null)
    {
        var outputs = new List<long>();
        var removers = new List<Action>();
        var training = model.training;
        try
        {
            model.eval();
            foreach (var (_, module) in model.named_modules())
                if (!module.children().Any() && module is nn.Module<Tensor, Tensor> leaf)
                    removers.Add(leaf.register_forward_hook((_, _, y) => { outputs.Add(y.NumberOfElements); return null!; }).remove);
            using var taps = new FeatureTaps(model, spaces, tapSets);
            using var _ = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            model.call(torch.zeros([1, .. image], device: device));
            var perSpace = spaces.Select(s => taps.Take(s.Name).Sum(t => { using (t) return t.NumberOfElements; })).ToList();
            return new ForwardFootprint(perSpace.Sum(), perSpace.DefaultIfEmpty(0).Max(), outputs.Sum());
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
