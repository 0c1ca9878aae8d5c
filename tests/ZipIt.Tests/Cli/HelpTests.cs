using Snapshooter;
using Snapshooter.Xunit;
using ZipIt.Engine.Core;

namespace ZipIt.Tests.Cli;

/// <summary>The help text of every command is part of the interface: pinned by snapshots.</summary>
public sealed class HelpTests
{
    [Theory]
    [InlineData("root", new[] { "--help" })]
    [InlineData("inspect", new[] { "inspect", "--help" })]
    [InlineData("predict", new[] { "predict", "--help" })]
    [InlineData("convert", new[] { "convert", "--help" })]
    [InlineData("init", new[] { "init", "--help" })]
    [InlineData("collect", new[] { "collect", "--help" })]
    [InlineData("match", new[] { "match", "--help" })]
    [InlineData("zip", new[] { "zip", "--help" })]
    [InlineData("reset-bn", new[] { "reset-bn", "--help" })]
    [InlineData("refit", new[] { "refit", "--help" })]
    [InlineData("evaluate", new[] { "evaluate", "--help" })]
    [InlineData("merge", new[] { "merge", "--help" })]
    [InlineData("train", new[] { "train", "--help" })]
    [InlineData("reproduce", new[] { "reproduce", "--help" })]
    [InlineData("demo", new[] { "demo", "--help" })]
    [InlineData("plugins", new[] { "plugins", "--help" })]
    [InlineData("plugins-list", new[] { "plugins", "list", "--help" })]
    [InlineData("data", new[] { "data", "--help" })]
    [InlineData("data-export", new[] { "data", "export", "--help" })]
    [InlineData("data-embeddings", new[] { "data", "embeddings", "--help" })]
    public void Help_has_not_changed(string name, string[] args)
    {
        var result = Tool.Run(args);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", result.Error);
        Snapshot.Match(result.Out, SnapshotNameExtension.Create(name));
    }

    [Fact]
    public void Root_help_documents_the_exit_codes()
    {
        var help = Tool.Run("--help").Out;
        foreach (var code in new[] { "0 ok", "1 unexpected", "2 usage", "3 bad input", "4 plugin", "5 resource" })
            Assert.Contains(code, help);
    }
}
