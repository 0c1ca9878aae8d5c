using ZipIt.Engine.Data;
using System.Runtime.InteropServices;
using TorchSharp;
using ZipIt.Engine.Core;
using ZipIt.Engine.Models;
using ZipIt.Engine.Output;
using static TorchSharp.torch;

namespace ZipIt.Engine.Models;

/// <summary>
/// Checks a data file's images against a model before the first real forward pass, so images of
/// the wrong rank or channel count are one line naming the file and tensor (exit 3), not a
/// libtorch failure halfway through a command.
/// </summary>
internal static class ImageCheck
{
    /// <summary>
    /// Exit 3 when <paramref name="images"/> [N, ...] cannot go through <paramref name="model"/>:
    /// first against the input axes the architecture declares (rank and channels of the weight that
    /// reads the input), then by one forward pass of the first images in eval mode without gradients,
    /// which changes no state (BatchNorm statistics move only in train mode). Returns the shape of
    /// each output (one per head) of that pass.
    /// </summary>
    public static IReadOnlyList<long[]> Require(LoadedModel model, Tensor images, string file, string tensor = TensorDataset.ImagesTensor)
    {
        var name = Path.GetFileName(file);
        var state = model.Model.state_dict();
        foreach (var input in model.Graph.Inputs)
        {
            if (!state.TryGetValue(input.Tensor, out var weight) || input.Axis >= weight.dim()) continue;
            var channels = weight.shape[input.Axis];
            // A linear first layer (an MLP) reads images flattened: their features, not their rank, must fit.
            var flattened = weight.dim() == 2 && images.dim() > 2 && images.shape[1..].Aggregate(1L, (a, b) => a * b) == channels;
            if (!flattened && (images.dim() != weight.dim() || images.shape[1] != channels))
                throw ZipItException.Input(
                    $"{name}: tensor '{tensor}' has shape {Format.Shape(images.shape)}; {model.Config} expects {ExpectedShape(weight.dim(), channels)}");
        }

        var training = model.Modules.Select(m => m.training).ToList();
        try
        {
            foreach (var m in model.Modules) m.eval();
            using var _ = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            // Two images where there are two: a batch of one sends libtorch's CPU convolutions down a
            // path that prints warnings on some CPUs.
            return model.Forward(images.narrow(0, 0, Math.Min(2, images.shape[0]))).Select(o => o.shape).ToList();
        }
        catch (Exception e) when (e is ArgumentException || (e is ExternalException && !ResourceErrors.IsOutOfMemory(e)))
        {
            throw ZipItException.Input($"{name}: tensor '{tensor}' {Format.Shape(images.shape)} does not fit {model.Config}: {Messages.OneLine(e.Message)}", e);
        }
        finally
        {
            for (var i = 0; i < training.Count; i++) model.Modules[i].train(training[i]);
        }
    }

    private static string ExpectedShape(long rank, long channels) => rank switch
    {
        4 => $"[N, {channels}, H, W]",
        3 => $"[N, {channels}, L]",
        2 => $"[N, {channels}]",
        _ => $"[N, {channels}, ...] with {rank} dimensions",
    };
}
