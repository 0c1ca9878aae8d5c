using TorchSharp;
using static TorchSharp.torch;

namespace ZipIt.Matching;

/// <summary>
/// Multiplies one axis (or a slice of it) of a tensor by a matrix, in place: the output side of a
/// producer by M_i (W ← M_i·W along that axis) or the input side of a consumer by U_i
/// (W ← W·U_i along that axis). Every other axis is carried along unchanged, so conv kernels,
/// biases, norm vectors and embeddings are all handled by the same two operations.
/// </summary>
public static class AxisTransform
{
    /// <summary>T ← M ×_axis T for the slice [offset, offset+M.cols) of <paramref name="axis"/>: the slice gets M.rows entries.</summary>
    public static void Merge(Tensor tensor, TensorAxis axis, Tensor m) => Apply(tensor, axis, m, consumer: false);

    /// <summary>T ← T ×_axis U for the slice of <paramref name="axis"/>: U is [slice length, slice length].</summary>
    public static void Unmerge(Tensor tensor, TensorAxis axis, Tensor u) => Apply(tensor, axis, u, consumer: true);

    private static void Apply(Tensor tensor, TensorAxis axis, Tensor matrix, bool consumer)
    {
        var length = axis.Length ?? tensor.shape[axis.Axis] - axis.Offset;
        if (matrix.dim() != 2 || matrix.shape[0] != length || matrix.shape[1] != length)
            throw new ArgumentException($"{axis}: a {length}×{length} matrix is needed, got [{string.Join(",", matrix.shape)}]");
        using var scope = torch.NewDisposeScope();
        var view = tensor.narrow(axis.Axis, axis.Offset, length);
        // Bring the transformed axis to the front, flatten the rest, one product, and back.
        var moved = view.transpose(0, axis.Axis).contiguous();
        var shape = moved.shape;
        var flat = moved.reshape(length, -1);
        var result = Product(consumer ? matrix.t() : matrix, flat);
        using var _ = torch.no_grad();
        view.copy_(result.reshape(shape).transpose(0, axis.Axis));
    }

    /// <summary>
    /// A·X. Match matrices are nearly all zeros (a ZipIt! or permutation row has one or two
    /// entries per model), so where every row of A has at most a few entries the product is formed
    /// as that many row gathers of X, weighted and summed: O(k·L·rest) instead of O(L²·rest).
    /// A dense A (a matcher that blends) takes the matrix product.
    /// </summary>
    private static Tensor Product(Tensor a, Tensor x)
    {
        var length = a.shape[1];
        var entries = a.count_nonzero([1]).max().item<long>();
        if (entries * SparseShare > length) return torch.mm(a, x);
        if (entries == 0) return torch.zeros([a.shape[0], x.shape[1]], x.dtype, x.device);
        // Rows with fewer entries gather some column with weight 0, which adds exact zeros (weights and models are finite).
        var columns = a.abs().topk((int)entries, dim: 1).indexes;
        var weights = a.gather(1, columns).to(x.dtype);
        var result = x.index_select(0, columns.select(1, 0)).mul_(weights.narrow(1, 0, 1));
        for (var k = 1; k < entries; k++)
            result.add_(x.index_select(0, columns.select(1, k)).mul_(weights.narrow(1, k, 1)));
        return result;
    }

    /// <summary>Gathers replace the product while a row has at most 1/8 of its entries set.</summary>
    private const long SparseShare = 8;
}
