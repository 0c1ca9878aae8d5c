using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Runtime.CompilerServices;

namespace ZipIt.Hosting;

/// <summary>
/// Examples shown at the end of a command's help, as <c>git</c> and <c>dotnet</c> help show them: System.CommandLine
/// has sections for usage, arguments and options but none for examples, so the help option's
/// action writes one more after them. A test parses every example against the command tree.
/// </summary>
internal static class HelpExamples
{
    private static readonly ConditionalWeakTable<Command, IReadOnlyList<string>> Examples = new();

    /// <summary>Sets <paramref name="command"/>'s examples: whole command lines, starting with <c>dotnet zipit</c>.</summary>
    public static TCommand WithExamples<TCommand>(this TCommand command, params string[] examples) where TCommand : Command
    {
        Examples.AddOrUpdate(command, examples);
        return command;
    }

    /// <summary>The examples of <paramref name="command"/> (none when it has not been given any).</summary>
    public static IReadOnlyList<string> Of(Command command) => Examples.TryGetValue(command, out var examples) ? examples : [];

    /// <summary>The <c>--help</c> option, whose help ends with the command's examples.</summary>
    public static HelpOption CreateHelpOption()
    {
        var option = new HelpOption();
        if (option.Action is HelpAction help) option.Action = new HelpThenExamples(help);
        return option;
    }

    /// <summary>Whether <paramref name="action"/> shows help (so the command line's usage errors do not apply).</summary>
    public static bool IsHelp(CommandLineAction? action) => action is HelpAction or HelpThenExamples;

    /// <summary>System.CommandLine's help, then an Examples section (its layout API is not public).</summary>
    private sealed class HelpThenExamples(HelpAction help) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            var code = help.Invoke(parseResult);
            var examples = Of(parseResult.CommandResult.Command);
            if (examples.Count == 0) return code;
            var output = parseResult.InvocationConfiguration.Output;
            output.WriteLine("Examples:");
            foreach (var example in examples) output.WriteLine("  " + example);
            output.WriteLine();
            return code;
        }
    }
}
