using TorchSharp;
using ZipIt.Matching;
using static TorchSharp.torch;

namespace ZipIt.Tests.Matching;

/// <summary>
/// Merge and unmerge along one axis (a slice of it) of a conv kernel, against the product written
/// out, for the matrices matchers make: permutations, ZipIt! rows (some with two entries, some
/// empty) and dense blends.
/// </summary>
public sealed class AxisTransformTests
{
    private static Tensor Kernel() => torch.randn([6, 40, 3, 3], generator: new Generator(7));

    /// <summary>M along axis 1, slice [8, 8 + 32), computed directly.</summary>
    private static Tensor Expected(Tensor kernel, Tensor m, bool consumer)
    {
        var slice = kernel.narrow(1, 8, 32).transpose(0, 1).reshape(32, -1);
        var product = torch.mm(consumer ? m.t() : m, slice).reshape(32, 6, 3, 3).transpose(0, 1);
        var expected = kernel.clone();
        expected.narrow(1, 8, 32).copy_(product);
        return expected;
    }

    public static TheoryData<string, bool> Cases() => new()
    {
        { "permutation", false }, { "permutation", true },
        { "zipit", false }, { "zipit", true },
        { "empty rows", false },
        { "dense", false }, { "dense", true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Equals_the_matrix_product(string kind, bool consumer)
    {
        var generator = new Generator(11);
        var m = kind switch
        {
            "permutation" => torch.eye(32).index_select(0, torch.randperm(32, generator: generator)),
            // Rows of one model's slice of a ZipIt! merge: a half on one column, a few rows with two (same-model merges).
            "zipit" => ZipItRows(generator),
            "empty rows" => torch.cat([torch.eye(32).narrow(0, 0, 20) * 0.5f, torch.zeros(12, 32)]),
            _ => torch.randn([32, 32], generator: generator),
        };
        var kernel = Kernel();
        var expected = Expected(kernel, m, consumer);
        var axis = new TensorAxis("w", 1) { Offset = 8, Length = 32 };
        if (consumer) AxisTransform.Unmerge(kernel, axis, m);
        else AxisTransform.Merge(kernel, axis, m);
        var error = (kernel - expected).abs().max().item<float>();
        Assert.True(error <= 1e-6f * expected.abs().max().item<float>(), $"{kind}: largest difference {error:E2}");
    }

    private static Tensor ZipItRows(Generator generator)
    {
        var m = torch.zeros(32, 32);
        var order = torch.randperm(32, generator: generator).data<long>().ToArray();
        for (var r = 0; r < 32; r++) m[r, order[r]] = 0.5f;
        m[3, order[4]] = 0.5f;
        m[9, order[10]] = 0.5f;
        return m;
    }
}
