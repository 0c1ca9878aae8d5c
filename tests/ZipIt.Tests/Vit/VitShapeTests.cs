using System.Text.Json;
using static ZipIt.Tests.Vit.VitTestUtil;

namespace ZipIt.Tests.Vit;

/// <summary>The timm variants produce exactly the key set and shapes of the real pretrained checkpoints.</summary>
public class VitShapeTests
{
    [Theory]
    [InlineData("vit_small_patch16_224")]
    [InlineData("vit_base_patch16_224")]
    [InlineData("deit_tiny_patch16_224")]
    public void State_dict_matches_timm(string variant)
    {
        var expected = JsonSerializer.Deserialize<Dictionary<string, long[]>>(File.ReadAllText(Repository.Fixture("shapes", $"timm_{variant}.json")))!;
        using var model = Architecture.Create(Config(variant));
        var actual = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, shape) in expected) Assert.True(shape.SequenceEqual(actual[key]), $"{key}: [{string.Join(",", actual[key])}], timm has [{string.Join(",", shape)}]");
        // Millions of initial values, all finite (TorchSharp's own trunc_normal_ is not).
        foreach (var (key, t) in model.state_dict()) Assert.True(t.isfinite().all().item<bool>(), $"{key} was initialised with a non-finite value");

        // The real checkpoints carry no head count: the head-dim-64 convention gives the variant's.
        var signature = new CheckpointSignature(expected.ToDictionary(kv => kv.Key, kv => new TensorSignature("F32", kv.Value)), new Dictionary<string, string>());
        var recognised = Architecture.Recognize(signature);
        Assert.NotNull(recognised);
        Assert.Equal(Config(variant).Settings, recognised.Settings);
        Assert.Contains("head-dim-64", Assert.Single(recognised.Notes));
        // DeiT and ViT share shapes: the name comes from a timm config when there is one.
        var named = Architecture.Recognize(signature with { Metadata = new Dictionary<string, string> { ["config.architecture"] = variant + ".some_tag" } });
        Assert.Equal(Config(variant), named);
    }
}
