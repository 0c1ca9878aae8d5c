using ZipIt.Engine.Core;
namespace ZipIt.Tests.Cli;

/// <summary>Each failure class ends in its documented exit code with one "error:" line and no stack trace.</summary>
public sealed class ExitCodeTests
{
    [Theory]
    [InlineData(2, new[] { "inspect" })]                                   // missing argument
    [InlineData(2, new[] { "inspect", "x.safetensors", "--no-such-option" })]
    [InlineData(2, new[] { "frobnicate" })]
    [InlineData(2, new[] { "--verbosity", "loud", "plugins", "list" })]
    [InlineData(2, new[] { "predict", "x.safetensors", "-i", "in.safetensors" })] // -o is required
    public void Usage_errors_exit_2(int expected, string[] args)
    {
        var result = Tool.Run(args);
        Assert.Equal(expected, result.ExitCode);
        Assert.StartsWith("error: ", result.Error);
        Assert.Equal("", result.Out);
    }

    [Fact]
    public void An_unknown_command_is_one_line_naming_it()
    {
        var result = Tool.Run("frobnicate");
        Assert.Equal(2, result.ExitCode);
        AssertOneErrorLine(result, "unknown command 'frobnicate' (commands: init, inspect");
        Assert.DoesNotContain("Required command", result.Error);
    }

    [Theory]
    [InlineData("99999999999", "--batch-size: 99999999999 is too large (at most 2147483647)")]
    [InlineData("-99999999999", "--batch-size: -99999999999 is too small (at least -2147483648)")]
    [InlineData("x", "--batch-size: 'x' is not a whole number")]
    public void A_number_out_of_range_is_called_too_large_not_not_a_number(string value, string message)
    {
        var result = Tool.Run("collect", "a.safetensors", "b.safetensors", "--data", "d.safetensors", "-o", "m.safetensors", "--batch-size", value);
        Assert.Equal(2, result.ExitCode);
        AssertOneErrorLine(result, message);
    }

    [Fact]
    public void Data_given_as_a_folder_without_images_says_what_a_data_folder_holds_not_model_file_names()
    {
        using var dir = new TempDirectory();
        var model = Repository.Fixture("parity", "resnet20x2_cifar.safetensors");
        var result = Tool.Run("collect", model, model, "--data", dir.Path, "-o", dir.File("m.safetensors"));
        Assert.Equal(3, result.ExitCode);
        AssertOneErrorLine(result, "a folder with no .png/.jpg/.jpeg images (expected class subfolders, train/ and test/, or images)");
        Assert.DoesNotContain("model.safetensors", result.Error);
    }

    [Fact]
    public void A_recipe_with_text_where_a_list_belongs_says_a_list_is_expected()
    {
        using var dir = new TempDirectory();
        var recipe = dir.File("recipe.json");
        File.WriteAllText(recipe, """{ "models": "a.safetensors" }""");
        var result = Tool.Run("merge", recipe);
        Assert.Equal(2, result.ExitCode);
        AssertOneErrorLine(result, "recipe.json:1:13: 'models' must be a list of text, got text 'a.safetensors'");
    }

    [Fact]
    public void A_missing_checkpoint_exits_3_naming_it()
    {
        var result = Tool.Run("inspect", "/nonexistent/model.safetensors");
        Assert.Equal(3, result.ExitCode);
        AssertOneErrorLine(result, "/nonexistent/model.safetensors");
    }

    [Fact]
    public void An_unknown_arch_exits_2_naming_it()
    {
        var result = Tool.Run("inspect", Repository.Fixture("parity", "resnet20x2_cifar.safetensors"), "--arch", "transformer-xl");
        Assert.Equal(2, result.ExitCode);
        AssertOneErrorLine(result, "--arch transformer-xl");
    }

    [Fact]
    public void An_unknown_arch_exits_2_also_for_a_checkpoint_whose_metadata_names_its_architecture()
    {
        var result = Tool.Run("inspect", Path.Combine(Repository.Root, "samples", "demo-pair", "a.safetensors"), "--arch", "vgg16");
        Assert.Equal(2, result.ExitCode);
        AssertOneErrorLine(result, "--arch vgg16: no installed architecture or variant has that name");
    }

    [Fact]
    public void A_missing_plugin_folder_exits_4_naming_it()
    {
        var result = Tool.Run("plugins", "list", "--plugins", "/nonexistent/plugins");
        Assert.Equal(4, result.ExitCode);
        AssertOneErrorLine(result, "/nonexistent/plugins");
    }

    internal static void AssertOneErrorLine(CliResult result, string mentions)
    {
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var errors = lines.Where(l => l.StartsWith("error: ", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 1, result.ToString());
        Assert.Contains(mentions, errors[0]);
        Assert.DoesNotContain("   at ", result.Error);
    }
}
