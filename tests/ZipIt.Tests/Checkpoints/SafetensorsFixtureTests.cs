using TorchSharp;
using ZipIt.Engine.Checkpoints;
using static TorchSharp.torch;

namespace ZipIt.Tests.Checkpoints;

/// <summary>Reads the PyTorch-written fixtures in ../shared/fixtures.</summary>
public class SafetensorsFixtureTests
{
    [Fact]
    public void ResNetFixture_HeaderAndValues()
    {
        using var file = SafetensorsFile.Open(Repository.Fixture("parity", "resnet20x2_cifar.safetensors"));
        Assert.Equal(128, file.Entries.Count);
        Assert.Equal(21, file.Entries.Count(e => e.DType == "I64"));
        Assert.Equal(107, file.Entries.Count(e => e.DType == "F32"));
        Assert.Equal(["note"], file.Metadata.Keys);
        Assert.StartsWith("CIFAR ResNet-20", file.Metadata["note"]);

        // Entries come in data order and tile the buffer.
        var position = file.DataStart;
        foreach (var e in file.Entries)
        {
            Assert.Equal(position, e.Begin);
            position = e.End;
        }
        Assert.Equal(file.FileLength, position);

        Assert.True(file.TryGetEntry("bn1.num_batches_tracked", out var nbt));
        Assert.Equal("I64", nbt.DType);
        Assert.Empty(nbt.Shape);
        Assert.Equal(1, nbt.NumElements);
        Assert.Equal(8, nbt.ByteLength);
        using (var t = file.Read("bn1.num_batches_tracked"))
        {
            Assert.Equal(ScalarType.Int64, t.dtype);
            Assert.Equal(0, t.dim());
            Assert.True(t.item<long>() >= 0);
        }

        var conv = file.GetEntry("conv1.weight");
        Assert.Equal([32L, 3, 3, 3], conv.Shape);
        Assert.Equal(864 * 4, conv.ByteLength);
        using (var w = file.Read("conv1.weight"))
        {
            Assert.Equal(ScalarType.Float32, w.dtype);
            Assert.Equal([32L, 3, 3, 3], w.shape);
            var first = w.flatten().data<float>().Take(2).ToArray();
            Assert.Equal(-0.0014408392598852515f, first[0]);
            Assert.Equal(0.10323861986398697f, first[1]);
            Assert.Equal(-0.0749045, w.sum().item<float>(), 4);
        }

        Assert.False(file.TryGetEntry("nope", out _));
        CheckpointAssert.InputError(() => file.Read("nope"), "resnet20x2_cifar.safetensors", "'nope'");
    }

    [Theory]
    [InlineData("resnet20x2_cifar.io.safetensors", new long[] { 4, 3, 32, 32 }, new long[] { 4, 10 })]
    [InlineData("timm_vit_p4_d96_h3_l3.io.safetensors", new long[] { 2, 3, 32, 32 }, new long[] { 2, 10 })]
    [InlineData("torchvision_bottleneck_1111.io.safetensors", new long[] { 2, 3, 64, 64 }, new long[] { 2, 10 })]
    public void IoFixtures_InputAndOutput(string name, long[] input, long[] output)
    {
        using var ckpt = Checkpoint.Open(Repository.Fixture("parity", name));
        Assert.False(ckpt.IsSharded);
        Assert.Empty(ckpt.Metadata);
        Assert.Equal(["input", "output"], ckpt.Entries.Select(e => e.Name));
        var all = ckpt.ReadAll();
        try
        {
            Assert.Equal(input, all["input"].shape);
            Assert.Equal(output, all["output"].shape);
            foreach (var t in all.Values)
            {
                Assert.Equal(ScalarType.Float32, t.dtype);
                Assert.True(t.isfinite().all().item<bool>());
                Assert.True(t.abs().max().item<float>() is > 1e-3f and < 100f);
            }
        }
        finally
        {
            foreach (var t in all.Values) t.Dispose();
        }
    }

    [Fact]
    public void IoFixture_KnownValues()
    {
        using var ckpt = Checkpoint.Open(Repository.Fixture("parity", "resnet20x2_cifar.io.safetensors"));
        using var input = ckpt.Read("input");
        using var output = ckpt.Read("output");
        Assert.Equal(-2.0459399223327637f, input.flatten().data<float>()[0]);
        Assert.Equal(-63.44121, input.sum(ScalarType.Float64).item<double>(), 3);
        Assert.Equal(0.056546732783317566f, output[0, 0].item<float>());
    }

    [Theory]
    [InlineData("timm_vit_p4_d96_h3_l3.safetensors", 44, "pos_embed", new long[] { 1, 65, 96 })]
    [InlineData("torchvision_bottleneck_1111.safetensors", 104, "fc.weight", new long[] { 10, 2048 })]
    public void ModelFixtures_Headers(string name, int count, string tensor, long[] shape)
    {
        using var ckpt = Checkpoint.Open(Repository.Fixture("parity", name));
        Assert.Equal(count, ckpt.Entries.Count);
        Assert.True(ckpt.Metadata.ContainsKey("note"));
        Assert.Equal(shape, ckpt.GetEntry(tensor).Shape);
        using var t = ckpt.Read(tensor);
        Assert.Equal(shape, t.shape);
        Assert.True(t.isfinite().all().item<bool>());
    }

    public static TheoryData<string, int> MatchingCases => new()
    {
        { "case00_n8_a0.5_b0.5.safetensors", 8 },
        { "case01_n16_a0.3_b0.125.safetensors", 16 },
        { "case02_n16_a0.0_b0.5.safetensors", 16 },
        { "case03_n32_a0.5_b0.0.safetensors", 32 },
        { "case04_n32_a0.5_b1.0.safetensors", 32 },
        { "case05_n64_a0.3_b0.125.safetensors", 64 },
        { "case07_n128_a0.5_b0.5.safetensors", 128 },
    };

    [Theory]
    [MemberData(nameof(MatchingCases))]
    public void MatchingFixtures(string name, int n)
    {
        using var ckpt = Checkpoint.Open(Repository.Fixture("matching", name));
        Assert.Equal(["alpha", "beta", "models", "n_per_model"], ckpt.Metadata.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(n.ToString(), ckpt.Metadata["n_per_model"]);
        Assert.Equal("2", ckpt.Metadata["models"]);
        Assert.Equal(["covariance", "permute_merge", "permute_unmerge", "zipit_merge", "zipit_unmerge"],
            ckpt.Entries.Select(e => e.Name).Order(StringComparer.Ordinal));
        Assert.All(ckpt.Entries, e => Assert.Equal("F32", e.DType));

        using var cov = ckpt.Read("covariance");
        Assert.Equal([2L * n, 2L * n], cov.shape);
        Assert.True(cov.allclose(cov.t(), rtol: 1e-5, atol: 1e-6), "covariance is symmetric");
        using var unmerge = ckpt.Read("zipit_unmerge");
        Assert.Equal([2L * n, n], unmerge.shape);
        Assert.True(((unmerge == 0) | (unmerge == 1)).all().item<bool>(), "unmerge is binary");
        Assert.Equal(2 * n, (long)unmerge.sum().item<float>()); // every feature goes to exactly one merged unit
        Assert.Equal([(long)n, 2L * n], ckpt.GetEntry("zipit_merge").Shape);
    }
}
