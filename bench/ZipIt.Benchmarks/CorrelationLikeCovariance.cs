using TorchSharp;
using static TorchSharp.torch;

namespace ZipIt.Benchmarks;

/// <summary>
/// A float64 covariance [N·C, N·C] shaped like real merge-point statistics: every model's units are
/// noisy copies of one shared set of C latent features in a random order, and about a quarter of
/// them copy a random latent instead, so there are clear cross-model partners, within-model
/// redundancy and many weak correlations, as in trained networks.
/// </summary>
public static class CorrelationLikeCovariance
{
    public static Tensor Create(int models, int width, long seed, int samples = 1024)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(unchecked((ulong)seed));
        var latent = randn([width, samples], generator: generator);
        var rows = new List<Tensor>();
        for (var m = 0; m < models; m++)
        {
            var source = randperm(width, generator: generator);
            var redirect = rand([width], generator: generator) < 0.25;
            source = where(redirect, randint(width, [width], generator: generator), source);
            rows.Add(latent.index_select(0, source) + 0.8 * randn([width, samples], generator: generator));
        }
        var features = cat(rows, 0);
        var centred = features - features.mean([1], keepdim: true);
        var covariance = centred.mm(centred.t()) / samples;
        return covariance.to_type(ScalarType.Float64).MoveToOuterDisposeScope();
    }
}
