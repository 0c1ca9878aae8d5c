using TorchSharp;

namespace ZipIt.Engine.Runtime;

/// <summary>Float32 precision on GPUs: full float32 for merges (TF32 off), PyTorch's TF32 convolutions for training.</summary>
internal static class Precision
{
    /// <summary>
    /// Convolutions and matrix products in full float32 on GPUs. libtorch lets cuDNN round
    /// convolution inputs to TF32 (10-bit mantissa) by default, which moves collected features by
    /// ~1e-3 relative: enough to flip near-tied matches, so a merge on a GPU would not be the merge
    /// on the CPU. Training may opt back in (<see cref="AllowTf32"/>).
    /// </summary>
    internal static void UseFullFloat32()
    {
        torch.backends.cudnn.allow_tf32 = false;
        torch.backends.cuda.matmul.allow_tf32 = false;
    }

    /// <summary>
    /// PyTorch's default for training on GPUs, TF32 convolutions, for as long as the returned scope
    /// lives; then full float32 again. Training on a GPU is not bit-reproducible in any case (cuDNN
    /// picks algorithms per run), so the speed is taken where no merge depends on bit equality.
    /// </summary>
    public static IDisposable AllowTf32(torch.Device device)
    {
        var onGpu = device.type == DeviceType.CUDA;
        if (onGpu) torch.backends.cudnn.allow_tf32 = true;
        return new Tf32Scope(onGpu);
    }

    private sealed class Tf32Scope(bool active) : IDisposable
    {
        public void Dispose() { if (active) UseFullFloat32(); }
    }
}
