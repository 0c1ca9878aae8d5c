using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.RegularExpressions;

namespace ZipIt.Hosting;

/// <summary>
/// Rewrites what the command-line parser and the .NET runtime say into words a user reads: no .NET
/// type names (<c>System.Nullable`1[System.Double]</c> becomes "a number"), unknown options as
/// usage errors, and missing arguments with their counts.
/// </summary>
internal static partial class PlainWords
{
    [GeneratedRegex(@"Cannot parse argument '(?<value>.*?)' for (option|command) '(?<name>.*?)' as expected type '(?<type>[^']*)'\.", RegexOptions.Singleline)]
    private static partial Regex CannotParse();

    [GeneratedRegex(@"(?<![\w.])(?:System|ZipIt)(?:\.[A-Za-z_][\w`]*)+(?:\[[^\]\s]*\])?")]
    private static partial Regex TypeName();

    [GeneratedRegex(@"^[-+]?\d+$")]
    private static partial Regex WholeNumber();

    /// <summary>The range of an integer type the parser names, or null for other types.</summary>
    private static (System.Numerics.BigInteger Min, System.Numerics.BigInteger Max)? Range(string type) =>
        type.Replace("System.Nullable`1[", "").TrimEnd(']') switch
        {
            "System.Int32" => (int.MinValue, int.MaxValue),
            "System.Int64" => (long.MinValue, long.MaxValue),
            "System.Int16" => (short.MinValue, short.MaxValue),
            "System.UInt32" => (uint.MinValue, uint.MaxValue),
            "System.UInt64" => (ulong.MinValue, ulong.MaxValue),
            _ => null,
        };

    [GeneratedRegex(@"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")]
    private static partial Regex Number();

    /// <summary>The usage errors of <paramref name="parse"/>, one line each, or an empty list when it is fine.</summary>
    public static List<string> Errors(ParseResult parse)
    {
        var errors = new List<string>();
        foreach (var token in UnknownOptions(parse))
        {
            var options = parse.CommandResult.Command.Options.Concat(parse.RootCommandResult.Command.Options.Where(o => o.Recursive))
                .SelectMany(o => o.Aliases.Prepend(o.Name));
            if (RenamedOptions.Hint(parse.CommandResult.Command.Name, token) is { } renamed)
            {
                errors.Add($"{parse.CommandResult.Command.Name} has no option '{token}': {renamed}");
                continue;
            }
            var hint = TypoSuggestion.Closest(token, options) is { } near ? $"did you mean '{near}'? " : "";
            errors.Add($"unknown option '{token}' ({hint}a file whose name starts with '-' can be given as ./{token})");
        }
        foreach (var (option, value) in BadSwitchValues(parse)) errors.Add($"{option} takes true or false, not '{value}'");
        if (errors.Count > 0) return errors;
        // A first word that is no command: say that alone, not also that a command is missing.
        if (parse.CommandResult == parse.RootCommandResult && parse.UnmatchedTokens.Count > 0)
        {
            var commands = parse.RootCommandResult.Command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name);
            var typed = parse.UnmatchedTokens[0];
            var hint = TypoSuggestion.Closest(typed, commands) is { } near ? $"did you mean '{near}'? " : "";
            return [$"unknown command '{typed}' ({hint}commands: {string.Join(", ", commands)})"];
        }
        foreach (var error in parse.Errors) errors.Add(Rewrite(error, parse));
        return errors;
    }

    /// <summary>A message with every .NET type name replaced by what the value should be.</summary>
    public static string WithoutTypeNames(string message) => TypeName().Replace(message, m => Describe(m.Value));

    private static string Rewrite(ParseError error, ParseResult parse)
    {
        var message = error.Message;
        var m = CannotParse().Match(message);
        if (m.Success)
        {
            var (value, type) = (m.Groups["value"].Value, m.Groups["type"].Value);
            // A whole number past the type's range is a whole number, just too large (or small).
            if (WholeNumber().IsMatch(value) && Range(type) is var (min, max) && System.Numerics.BigInteger.TryParse(value, CultureInfo.InvariantCulture, out var n))
                return n > max ? $"{m.Groups["name"].Value}: {value} is too large (at most {max})" : $"{m.Groups["name"].Value}: {value} is too small (at least {min})";
            return $"{m.Groups["name"].Value}: '{value}' is not {Describe(type)}";
        }
        if (message.StartsWith("Required argument missing", StringComparison.Ordinal) && parse.CommandResult is { } command)
        {
            foreach (var argument in command.Command.Arguments)
            {
                var given = command.Children.OfType<ArgumentResult>().FirstOrDefault(a => a.Argument == argument)?.Tokens.Count ?? 0;
                if (given < argument.Arity.MinimumNumberOfValues)
                    return argument.Arity.MinimumNumberOfValues == 1
                        ? $"{command.Command.Name} needs {argument.Name.ToUpperInvariant()}"
                        : $"{command.Command.Name} needs at least {argument.Arity.MinimumNumberOfValues} {argument.Name}, got {given}";
            }
        }
        return WithoutTypeNames(message.Split('\n')[0].Trim());
    }

    /// <summary>Tokens that look like options (<c>-x</c>, <c>--xyz</c>) but were taken as values because no option has that name.</summary>
    private static IEnumerable<string> UnknownOptions(ParseResult parse)
    {
        var afterSeparator = false;
        foreach (var token in parse.Tokens)
        {
            if (token.Type == TokenType.DoubleDash) afterSeparator = true;
            if (afterSeparator || token.Type != TokenType.Argument) continue;
            var value = token.Value;
            if (value.Length > 1 && value[0] == '-' && !Number().IsMatch(value)) yield return value;
        }
    }

    /// <summary>A value after a true/false switch that the parser gave to the next argument instead (e.g. <c>--reset-bn maybe</c>).</summary>
    private static IEnumerable<(string Option, string Value)> BadSwitchValues(ParseResult parse)
    {
        var tokens = parse.Tokens;
        var switches = parse.CommandResult.Command.Options.Concat(parse.RootCommandResult.Command.Options)
            .Where(o => (o.ValueType == typeof(bool) || o.ValueType == typeof(bool?)) && o.Arity.MaximumNumberOfValues > 0)
            .SelectMany(o => o.Aliases.Append(o.Name))
            .ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i + 1 < tokens.Count; i++)
        {
            if (tokens[i].Type != TokenType.Option || !switches.Contains(tokens[i].Value)) continue;
            var next = tokens[i + 1];
            if (next.Type != TokenType.Argument || bool.TryParse(next.Value, out _)) continue;
            if (File.Exists(next.Value) || Directory.Exists(next.Value)) continue;
            yield return (tokens[i].Value, next.Value);
        }
    }

    private static string Describe(string typeName)
    {
        var name = typeName;
        var nullable = Regex.Match(name, @"^System\.Nullable`1\[(.*)\]$");
        if (nullable.Success) name = nullable.Groups[1].Value;
        if (name.EndsWith("[]", StringComparison.Ordinal))
        {
            // A list where something else was given: say a list is expected, not what its items are.
            return Describe(name[..^2]) switch
            {
                "text" => "a list of text",
                "true or false" => "a list of true or false values",
                var item when item.StartsWith("a ", StringComparison.Ordinal) => "a list of " + item[2..] + "s",
                var item => "a list of " + item,
            };
        }
        switch (name)
        {
            case "System.Double" or "System.Single" or "System.Decimal": return "a number";
            case "System.Int32" or "System.Int64" or "System.Int16" or "System.UInt32" or "System.UInt64": return "a whole number";
            case "System.Boolean": return "true or false";
            case "System.String": return "text";
        }
        // Option types are the tool's or the engine's (enums such as HeadKind live in the engine).
        var type = typeof(PlainWords).Assembly.GetType(name) ?? typeof(ZipIt.Engine.Core.ZipItException).Assembly.GetType(name) ?? Type.GetType(name);
        if (type is { IsEnum: true })
            return "one of " + string.Join("|", Enum.GetNames(type).Select(n => n.ToLower(CultureInfo.InvariantCulture)));
        var simple = name[(name.LastIndexOf('.') + 1)..].Split('`')[0];
        return "a " + Regex.Replace(simple, "(?<=[a-z])(?=[A-Z])", " ").ToLower(CultureInfo.InvariantCulture);
    }
}
