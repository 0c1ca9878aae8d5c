using System.CommandLine;
using System.Text.RegularExpressions;
using ZipIt.Cli;
using ZipIt.Hosting;

namespace ZipIt.Tests.Cli;

/// <summary>What every command's help keeps to: examples that run, and defaults written one way.</summary>
public sealed partial class HelpConventionTests
{
    private static Command Root() => ZipItApp.CreateRootCommand(new CommandRunner(new ConsoleStreams(TextWriter.Null, TextWriter.Null), null));

    /// <summary>Every command below the root with the words that run it, e.g. ["data", "export"].</summary>
    private static IEnumerable<(Command Command, string[] Path)> Commands(Command command, string[] path)
    {
        yield return (command, path);
        foreach (var sub in command.Subcommands.Where(c => !c.Hidden))
            foreach (var found in Commands(sub, [.. path, sub.Name]))
                yield return found;
    }

    public static TheoryData<string> CommandPaths() => new(Commands(Root(), []).Select(c => string.Join(' ', c.Path)));

    [Theory]
    [MemberData(nameof(CommandPaths))]
    public void Every_command_has_examples_that_parse_as_that_command(string path)
    {
        var root = Root();
        var (command, _) = Commands(root, []).Single(c => string.Join(' ', c.Path) == path);
        var examples = HelpExamples.Of(command);
        Assert.NotEmpty(examples);
        foreach (var example in examples)
        {
            Assert.StartsWith("dotnet zipit ", example);
            var parse = root.Parse(example["dotnet zipit ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries));
            Assert.True(PlainWords.Errors(parse).Count == 0, $"{example}: {string.Join("; ", PlainWords.Errors(parse))}");
            // An example runs its command, or for a group (the root, data, plugins) one of the group's commands.
            var ran = new List<Command>();
            for (var r = parse.CommandResult; r is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult) ran.Add(r.Command);
            Assert.Contains(command, ran);
            if (command.Subcommands.Count == 0) Assert.Same(command, parse.CommandResult.Command);
        }
    }

    [Theory]
    [MemberData(nameof(CommandPaths))]
    public void Help_ends_with_the_examples(string path)
    {
        var help = Tool.Run([.. path.Split(' ', StringSplitOptions.RemoveEmptyEntries), "--help"]);
        Assert.Equal(0, help.ExitCode);
        var examples = help.Out.Split("Examples:")[^1].Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        Assert.Equal(HelpExamples.Of(Commands(Root(), []).Single(c => string.Join(' ', c.Path) == path).Command), examples);
    }

    [GeneratedRegex(@"\[default: [^\]]*\]", RegexOptions.CultureInvariant)]
    private static partial Regex BracketedDefault();

    [Theory]
    [MemberData(nameof(CommandPaths))]
    public void Defaults_are_written_one_way_at_the_end_of_a_description(string path)
    {
        var help = Tool.Run([.. path.Split(' ', StringSplitOptions.RemoveEmptyEntries), "--help"]).Out;
        foreach (var line in help.Split('\n').Select(l => l.TrimEnd('\r', ' ')))
        {
            var defaults = BracketedDefault().Matches(line);
            Assert.True(defaults.Count <= 1, $"two defaults in: {line}");
            if (defaults.Count == 1) Assert.True(line.EndsWith(defaults[0].Value, StringComparison.Ordinal), $"a default not at the end: {line}");
            var rest = BracketedDefault().Replace(line, "");
            Assert.False(rest.Contains("default", StringComparison.OrdinalIgnoreCase), $"a default written another way: {line}");
        }
    }

    [Theory]
    [InlineData("train", "--set", "--arch-set")]
    [InlineData("init", "--set", "--arch-set")]
    [InlineData("reproduce", "--set", "--arch-set")]
    [InlineData("train", "--task", "--data")]
    public void A_renamed_option_names_its_new_name(string command, string old, string replacement)
    {
        var result = Tool.Run(command, "resnet20", old, "x=1", "-o", Path.Combine(Path.GetTempPath(), "never-written.safetensors"));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{command} has no option '{old}'", result.Error);
        Assert.Contains(replacement, result.Error);
    }

    [Fact]
    public void Architecture_and_matcher_settings_never_share_a_name()
    {
        // --set is a matcher setting wherever it exists; architecture settings are the one --arch-set.
        foreach (var (command, path) in Commands(Root(), []))
        {
            var set = command.Options.FirstOrDefault(o => o.Name == "--set");
            if (set is not null) Assert.Contains("matcher setting", set.Description);
            Assert.DoesNotContain(command.Options, o => o.Name != "--arch-set" && o.Description?.Contains("An architecture setting", StringComparison.Ordinal) == true);
        }
    }
}
