using System.CommandLine;
using ZipIt.Cli;
using ZipIt.Hosting;

namespace ZipIt.Tests.Cli;

/// <summary>
/// One name, one option: a command that declared a name twice (reproduce's ZipIt! β grid and
/// AdamW's betas were both --betas) parses the value into whichever the parser meets first.
/// </summary>
public sealed class OptionNameTests
{
    public static TheoryData<string> Commands()
    {
        var data = new TheoryData<string>();
        foreach (var (path, _) in All()) data.Add(path);
        return data;
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void No_command_has_two_options_of_one_name(string path)
    {
        var (_, command) = All().Single(c => c.Path == path);
        var names = Options(command).SelectMany(o => o.Aliases.Prepend(o.Name)).ToList();
        var repeated = names.GroupBy(n => n).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(repeated.Count == 0, $"{path}: {string.Join(", ", repeated)} named twice");
    }

    /// <summary>A command's own options and the recursive ones of the commands above it.</summary>
    private static IEnumerable<Option> Options(Command command)
    {
        var own = command.Options.ToList();
        for (var parent = command.Parents.OfType<Command>().FirstOrDefault(); parent is not null; parent = parent.Parents.OfType<Command>().FirstOrDefault())
            own.AddRange(parent.Options.Where(o => o.Recursive && !own.Contains(o)));
        return own;
    }

    private static IEnumerable<(string Path, Command Command)> All()
    {
        var root = ZipItApp.CreateRootCommand(new CommandRunner(new ConsoleStreams(TextWriter.Null, TextWriter.Null), null));
        var stack = new Stack<(string, Command)>([("root", root)]);
        while (stack.Count > 0)
        {
            var (path, command) = stack.Pop();
            yield return (path, command);
            foreach (var sub in command.Subcommands) stack.Push((path == "root" ? sub.Name : $"{path} {sub.Name}", sub));
        }
    }
}
