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
        // Bring the transformed axis to the front, flatten the rest, one matrix product, and back.
        var moved = view.transpose(0, axis.Axis).contiguous();
        var shape = moved.shape;
        var flat = moved.reshape(length, -1);
        var result = consumer ? torch.mm(matrix.t(), flat) : torch.mm(matrix, flat);
        using var _ = torch.no_grad();
        view.copy_(result.reshape(shape).transpose(0, axis.Axis));
    }
}
