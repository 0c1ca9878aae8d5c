using static TorchSharp.torch;

namespace ZipIt;

/// <summary>
/// The matching of one point. Row g of <see cref="Merge"/> averages the stacked features that form
/// merged feature g; <see cref="Unmerge"/> maps merged features back to each model's units
/// (column g of U marks g's members). Model i's blocks are <c>Merge[:, i·C:(i+1)·C]</c> and
/// <c>Unmerge[i·C:(i+1)·C, :]</c>.
/// </summary>
/// <param name="Merge">[C, N·C], float32.</param>
/// <param name="Unmerge">[N·C, C], float32.</param>
public sealed record MatchResult(Tensor Merge, Tensor Unmerge);
