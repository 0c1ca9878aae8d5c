using TorchSharp;
using ZipIt.Engine.Checkpoints;
using ZipIt.Plugins.ResNet;
using static TorchSharp.torch;

namespace ZipIt.Tests.ResNet;

/// <summary>Fixture signatures exactly as the host builds them.</summary>
internal static class ResNetFixtures
{
    public static string Path(string folder, string name) => Repository.Fixture(folder, name);

    public static CheckpointSignature Signature(string path)
    {
        using var ckpt = Checkpoint.Open(path);
        return ZipIt.Engine.Models.ModelLoader.SignatureOf(ckpt);
    }
}

internal static class ResNetTestUtil
{
    public static readonly ResNetArchitecture Architecture = new();

    public static ArchitectureConfig Config(string variant, params (string Key, string Value)[] settings) =>
        Architecture.Configure(variant, settings.ToDictionary(s => s.Key, s => s.Value));

    /// <summary>A signature of an in-memory state dict, as if it had been saved to safetensors.</summary>
    public static CheckpointSignature Signature(Dictionary<string, Tensor> stateDict, IReadOnlyDictionary<string, string>? metadata = null) =>
        new(stateDict.ToDictionary(kv => kv.Key, kv => new TensorSignature(DTypeCode(kv.Value.dtype), kv.Value.shape)),
            metadata ?? new Dictionary<string, string>());

    private static string DTypeCode(ScalarType t) => t switch
    {
        ScalarType.Float32 => "F32",
        ScalarType.Int64 => "I64",
        _ => throw new NotSupportedException(t.ToString()),
    };

    /// <summary>Seeded random weights in every tensor (the conformance package's, so the proofs here and in plugins agree).</summary>
    public static void Randomise(nn.Module model, ulong seed) => ZipIt.Testing.TestWeights.Randomise(model, seed);

    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        Assert.Equal(a.shape, b.shape);
        using var d = (a - b).abs_().max();
        return d.ToDouble();
    }

    /// <summary>Runs <paramref name="model"/> in eval mode without gradients and returns a detached output.</summary>
    public static Tensor Eval(nn.Module<Tensor, Tensor> model, Tensor input)
    {
        model.eval();
        using var _ = no_grad();
        return model.call(input);
    }
}
