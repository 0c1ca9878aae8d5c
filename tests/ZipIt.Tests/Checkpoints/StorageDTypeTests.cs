using TorchSharp;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Core;
using static TorchSharp.torch;

namespace ZipIt.Tests.Checkpoints;

/// <summary>The storage type of <c>convert --dtype</c> and <c>merge --dtype</c>.</summary>
public sealed class StorageDTypeTests
{
    [Theory]
    [InlineData("f32", ScalarType.Float32)]
    [InlineData("F16", ScalarType.Float16)]
    [InlineData("bfloat16", ScalarType.BFloat16)]
    public void Names_parse(string name, ScalarType type)
    {
        Assert.Equal(type, StorageDType.Parse(name));
        Assert.Null(StorageDType.Parse(null));
    }

    [Fact]
    public void An_unknown_type_is_a_usage_error_naming_the_option()
    {
        var e = Assert.Throws<ZipItException>(() => StorageDType.Parse("f8"));
        Assert.Equal(ExitCode.Usage, e.Code);
        Assert.Equal("--dtype f8: expected f32, f16 or bf16", e.Message);
    }

    [Fact]
    public void Rounding_in_place_keeps_the_type_and_gives_the_values_the_stored_type_holds()
    {
        using var t = tensor(new[] { 1.0f + 1e-4f, 3.14159265f, -65504.7f });
        using var expected = t.to_type(ScalarType.BFloat16).to_type(ScalarType.Float32);
        StorageDType.RoundInPlace(t, ScalarType.BFloat16);
        Assert.Equal(ScalarType.Float32, t.dtype);
        Assert.True(t.eq(expected).all().item<bool>());
        using var ints = tensor(new long[] { 1, 2 });
        Assert.Same(ints, StorageDType.Cast(ints, ScalarType.Float16));
    }
}
