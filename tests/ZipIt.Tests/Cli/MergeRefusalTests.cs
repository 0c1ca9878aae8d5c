namespace ZipIt.Tests.Cli;

/// <summary>A merge refused before its work leaves nothing on disk, not even the output's folder.</summary>
public sealed class MergeRefusalTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _a;
    private readonly string _b;

    public MergeRefusalTests()
    {
        _a = _dir.File("a.safetensors");
        _b = _dir.File("b.safetensors");
        File.Copy(Repository.Fixture("parity", "resnet20x2_cifar.safetensors"), _a);
        File.Copy(_a, _b);
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_stop_point_that_does_not_exist_creates_no_folder()
    {
        var result = Tool.Run("merge", "--models", _a, _b, "--matcher", "average", "-o", _dir.File("newdir/deeper/m.safetensors"), "--stop", "99");
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Equal(["a.safetensors", "b.safetensors"], _dir.Names());
    }

    [Fact]
    public void A_recipe_with_a_negative_image_count_creates_no_folder()
    {
        var recipe = _dir.File("recipe.json");
        File.WriteAllText(recipe, """{ "models": ["a.safetensors", "b.safetensors"], "matcher": "average", "images": -3, "output": "newdir/m.safetensors" }""");
        var result = Tool.Run("merge", recipe);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Equal(["a.safetensors", "b.safetensors", "recipe.json"], _dir.Names());
    }
}
