using ZipIt.Hosting;

namespace ZipIt.Tests.Cli;

public sealed class TypoSuggestionTests
{
    [Theory]
    [InlineData("mrege", "merge")]
    [InlineData("evalute", "evaluate")]
    [InlineData("--modles", "--models")]
    [InlineData("--batchsize", "--batch-size")]
    public void A_near_miss_gets_the_one_close_candidate(string typed, string expected) =>
        Assert.Equal(expected, TypoSuggestion.Closest(typed, ["merge", "evaluate", "--models", "--batch-size", "--matcher", "match"]));

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("-q")]
    [InlineData("mat")]
    public void Nothing_close_or_too_short_gets_no_suggestion(string typed) =>
        Assert.Null(TypoSuggestion.Closest(typed, ["merge", "match", "-o", "-v", "--models"]));

    [Fact]
    public void The_command_line_suggests_a_mistyped_command_and_option()
    {
        var command = Tool.Run("mrege");
        Assert.Equal(2, command.ExitCode);
        Assert.Contains("unknown command 'mrege' (did you mean 'merge'? commands: init,", command.Error);
        var option = Tool.Run("merge", "--modles", "a.safetensors");
        Assert.Equal(2, option.ExitCode);
        Assert.Contains("unknown option '--modles' (did you mean '--models'? a file whose name starts with '-' can be given as ./--modles)", option.Error);
    }

    [Fact]
    public void Merge_takes_its_models_as_arguments_as_collect_and_zip_do()
    {
        using var dir = new TempDirectory();
        var model = Repository.Fixture("parity", "resnet20x2_cifar.safetensors");
        var r = Tool.Run("merge", model, model, "--matcher", "average", "-o", dir.File("m.safetensors"));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.True(File.Exists(dir.File("m.safetensors")));
        var both = Tool.Run("merge", model, model, "--models", model, model, "--matcher", "average", "-o", dir.File("n.safetensors"));
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("give the models as arguments or with --models, not both", both.Error);
    }
}
