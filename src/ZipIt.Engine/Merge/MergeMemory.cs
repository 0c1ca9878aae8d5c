using ZipIt.Engine.Collect;
using ZipIt.Engine.Data;
using ZipIt.Engine.Models;

namespace ZipIt.Engine.Merge;

/// <summary>
/// The peak memory of collecting statistics and of a whole merge, estimated before the real work
/// starts from what is known then: the models' sizes, the data, the points' widths and the
/// first model's <see cref="ForwardFootprint"/>. CPU memory only: on a GPU the models, batches
/// and statistics live in device memory, which this does not estimate.
/// </summary>
/// <param name="Models">N, the models merged.</param>
/// <param name="ModelBytes">Bytes of one model's state.</param>
/// <param name="DataBytes">Bytes of the calibration images held in memory (0 without data).</param>
/// <param name="TestBytes">Bytes of the evaluation images (0 without evaluation).</param>
/// <param name="ImageFloats">Elements of one image.</param>
/// <param name="BatchSize">Images per forward pass (at most the data's count).</param>
/// <param name="Points">The points whose statistics are collected (none for data-free matchers).</param>
/// <param name="Forward">The model's footprint per image, or null when it could not be probed (activations then count as zero).</param>
internal sealed record MergeMemory(int Models, long ModelBytes, long DataBytes, long TestBytes, long ImageFloats, int BatchSize,
    IReadOnlyList<FeatureSpace> Points, ForwardFootprint? Forward)
{
    /// <summary>The estimate for <paramref name="models"/> over <paramref name="data"/> (and <paramref name="test"/>), probing the first model with one blank image.</summary>
    public static MergeMemory For(IReadOnlyList<LoadedModel> models, TensorDataset? data, TensorDataset? test, IReadOnlyList<FeatureSpace> points,
        int batchSize, IReadOnlyCollection<string>? tapSets = null)
    {
        var m = models[0];
        var image = data?.Images.shape[1..] ?? test?.Images.shape[1..] ?? [];
        var forward = image.Length == 0 ? null : ForwardFootprint.Probe(m.Model, m.Device, points, image, tapSets);
        var modelBytes = m.Modules.Sum(MemoryEstimate.Bytes);
        return new MergeMemory(models.Count, modelBytes, Bytes(data), Bytes(test), image.Aggregate(1L, (a, b) => a * b),
            (int)Math.Min(batchSize, Math.Max(1, data?.Count ?? test?.Count ?? 1)), points, forward);
    }

    /// <summary>What a refit after the zip holds beyond the models' passes (moments, captures, a chunk of rows); 0: no refit.</summary>
    public long RefitBytes { get; init; }

    /// <summary>The models a refit runs in step over a batch: the base models, and for the sequential variant the merged one.</summary>
    public int RefitModels { get; init; }

    /// <summary>Bytes a dataset's images and labels hold.</summary>
    public static long Bytes(TensorDataset? set) => set is null ? 0 : set.Images.NumberOfElements * set.Images.ElementSize + (set.Labels?.NumberOfElements * set.Labels?.ElementSize ?? 0);

    private long Base => MemoryEstimate.RuntimeBytes + Models * ModelBytes + DataBytes;

    /// <summary>One batch's input and the most of one model's module outputs resident at once (<see cref="ForwardFootprint.PeakResidentFloats"/>).</summary>
    private long ForwardPass => 4L * BatchSize * (ImageFloats + (Forward?.PeakResidentFloats(BatchSize) ?? 0));

    /// <summary>
    /// Collecting: the batch; for every model its pass and its taps of the batch (centred in place,
    /// no copies), counted whole: the taps stay while the next model runs, and the blocks they and
    /// the freed outputs take fragment the allocator's heap so that one model's freed outputs are
    /// not all reused by the next (the ResNet-20×4 merge's 2.2 GiB peak needs the sum); the large
    /// outputs the models before the last leave in the batch's scope; and the statistics' sums.
    /// </summary>
    public long Collect
    {
        get
        {
            var activations = Forward is null ? 0 : 4L * BatchSize * (Models * (Forward.PeakResidentFloats(BatchSize) + Forward.TapFloats) + (Models - 1) * Forward.RetainedLargeFloats(BatchSize));
            return Base + Math.Max(4L * BatchSize * ImageFloats + activations + StatisticsMemory.Accumulating(Points, Models), StatisticsMemory.Finishing(Points, Models));
        }
    }

    /// <summary>
    /// The whole merge: collecting (with the evaluation images loaded), then matching, zipping and the
    /// merged model's BatchNorm reset and evaluation while the finished statistics are held (the
    /// zipped tensors and the merged model: two more models; a matcher works on a few O×O matrices per point;
    /// a refit runs its models' passes in step beside its own <see cref="RefitBytes"/>).
    /// </summary>
    public long Merge
    {
        get
        {
            var collect = Points.Count == 0 ? Base : Collect;
            var refit = RefitBytes == 0 ? 0 : RefitModels * ForwardPass + RefitBytes;
            var after = Base + StatisticsMemory.Finished(Points, Models) + 2 * ModelBytes
                + Math.Max(Math.Max(4 * StatisticsMemory.LargestMatrix(Points, Models), ForwardPass), refit);
            return TestBytes + Math.Max(collect, after);
        }
    }
}
