using TorchSharp;
using ZipIt.Engine.Models;
using static TorchSharp.torch;

namespace ZipIt.Tests.Engine;

/// <summary>The weight fingerprint metrics and matches files record: deterministic, order-free, sensitive to every part of a tensor.</summary>
public sealed class ModelFingerprintTests
{
    private static Dictionary<string, Tensor> State(long seed) => new()
    {
        ["conv.weight"] = torch.randn([8, 3, 3, 3], generator: new Generator((ulong)seed)),
        ["bn.running_var"] = torch.rand([8], generator: new Generator((ulong)seed + 1)),
        ["bn.num_batches_tracked"] = torch.tensor(3L),
    };

    [Fact]
    public void The_same_tensors_give_the_same_fingerprint_whatever_their_order()
    {
        var a = State(1);
        var reversed = a.Reverse().ToDictionary();
        var copy = a.ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var hash = ModelFingerprint.Of(a);
        Assert.Matches("^sha256:[0-9a-f]{64}$", hash);
        Assert.Equal(hash, ModelFingerprint.Of(reversed));
        Assert.Equal(hash, ModelFingerprint.Of(copy));
        Assert.NotEqual(hash, ModelFingerprint.Of(State(2)));
    }

    [Fact]
    public void One_element_a_name_a_dtype_or_a_shape_changes_it()
    {
        var a = State(1);
        var hash = ModelFingerprint.Of(a);
        var element = a.ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        element["conv.weight"][7, 2, 2, 2] += 1e-6f;
        var renamed = a.ToDictionary(kv => kv.Key == "bn.running_var" ? "bn.running_mean" : kv.Key, kv => kv.Value);
        var dtype = a.ToDictionary(kv => kv.Key, kv => kv.Key == "bn.num_batches_tracked" ? kv.Value.to(ScalarType.Int32) : kv.Value);
        var shape = a.ToDictionary(kv => kv.Key, kv => kv.Key == "conv.weight" ? kv.Value.reshape(8, 27) : kv.Value);
        Assert.NotEqual(hash, ModelFingerprint.Of(element));
        Assert.NotEqual(hash, ModelFingerprint.Of(renamed));
        Assert.NotEqual(hash, ModelFingerprint.Of(dtype));
        Assert.NotEqual(hash, ModelFingerprint.Of(shape));
    }

    [Fact]
    public void A_non_contiguous_view_hashes_as_its_contiguous_copy()
    {
        using var t = torch.randn([6, 5], generator: new Generator(3));
        using var view = t.t();
        using var dense = view.contiguous();
        Assert.Equal(ModelFingerprint.Of([new("x", dense)]), ModelFingerprint.Of([new("x", view)]));
    }
}
