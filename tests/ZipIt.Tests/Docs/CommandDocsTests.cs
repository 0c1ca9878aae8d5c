using System.Text.RegularExpressions;

namespace ZipIt.Tests.Docs;

/// <summary>
/// The documentation keeps up with the tool: every help snapshot (the interface, pinned by
/// <c>HelpTests</c>) has its page under <c>docs/commands/</c> naming every option, argument and
/// subcommand the help lists; the README stays short; and no relative link in the README or under
/// <c>docs/</c> points at a missing file, a missing heading or out of the repository.
/// </summary>
public sealed class CommandDocsTests
{
    private const string SnapshotPrefix = "HelpTests.Help_has_not_changed_";
    private const int ReadmeMaxLines = 300;

    private static string SnapshotFolder => Path.Combine(Repository.Root, "tests", "ZipIt.Tests", "Cli", "__snapshots__");

    /// <summary>The help snapshots by name: <c>merge</c>, <c>plugins-list</c>, <c>root</c>, ...</summary>
    public static TheoryData<string> HelpSnapshots() => new(SnapshotNames());

    private static IEnumerable<string> SnapshotNames() =>
        Directory.EnumerateFiles(SnapshotFolder, SnapshotPrefix + "*.snap")
            .Select(f => Path.GetFileName(f)[SnapshotPrefix.Length..^".snap".Length])
            .Order(StringComparer.Ordinal);

    /// <summary><c>docs/commands/NAME.md</c>; the root help's page is the commands index, <c>docs/commands/README.md</c>.</summary>
    internal static string PageFor(string snapshot) => Path.Combine("docs", "commands", snapshot == "root" ? "README.md" : snapshot + ".md");

    [Fact]
    public void There_are_help_snapshots_to_check()
    {
        var names = SnapshotNames().ToList();
        Assert.Contains("merge", names);
        Assert.Contains("root", names);
        Assert.Contains("plugins-list", names);
    }

    [Theory]
    [MemberData(nameof(HelpSnapshots))]
    public void Every_command_has_a_page_that_names_everything_its_help_lists(string snapshot)
    {
        var page = PageFor(snapshot);
        var path = Path.Combine(Repository.Root, page);
        Assert.True(File.Exists(path), $"{page} is missing: every command in the help needs a page (see docs/commands/README.md)");
        var help = HelpText.Parse(File.ReadAllText(Path.Combine(SnapshotFolder, SnapshotPrefix + snapshot + ".snap")));
        Assert.NotEmpty(help.Options);
        var missing = help.MissingFrom(File.ReadAllText(path));
        Assert.True(missing.Count == 0, $"{page} does not mention {string.Join(", ", missing)}, which '{snapshot}' help lists");
    }

    [Fact]
    public void The_readme_is_at_most_300_lines()
    {
        var lines = File.ReadAllLines(Path.Combine(Repository.Root, "README.md")).Length;
        Assert.True(lines <= ReadmeMaxLines, $"README.md has {lines} lines, more than {ReadmeMaxLines}: move reference material into docs/");
    }

    [Fact]
    public void Every_relative_link_in_the_readme_and_the_docs_points_to_an_existing_file()
    {
        var root = Repository.Root;
        var files = new[] { Path.Combine(root, "README.md") }
            .Concat(Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.md", SearchOption.AllDirectories))
            .ToList();
        Assert.Contains(files, f => f.EndsWith(Path.Combine("docs", "README.md"), StringComparison.Ordinal));
        var broken = files.SelectMany(f => Markdown.BrokenLinks(f, root)).ToList();
        Assert.True(broken.Count == 0, "broken links:\n" + string.Join("\n", broken));
    }

    // The checks themselves must be able to fail: these feed them a page that lacks what the help lists.

    private const string SampleHelp = """
        Description:
          Do a thing.

        Usage:
          dotnet-zipit thing <models>... [options]

        Arguments:
          <models>  Two or more checkpoints.

        Options:
          --data <FILE> (REQUIRED)          Calibration images.
          -o, --output <FILE>               Where to write.
          --no-card, --no-write-model-card  Do not write the card.
          -?, -h, --help                    Show help and usage information

        Commands:
          list  List things.
        """;

    [Fact]
    public void The_help_parser_finds_options_arguments_and_subcommands()
    {
        var help = HelpText.Parse(SampleHelp);
        Assert.Equal(["--data", "--output", "--no-card", "--no-write-model-card", "--help"], help.Options);
        Assert.Equal(["<models>"], help.Arguments);
        Assert.Equal(["list"], help.Commands);
    }

    [Fact]
    public void A_page_that_leaves_out_an_option_fails_the_check()
    {
        var help = HelpText.Parse(SampleHelp);
        const string complete = "`<models>` `--data` `-o, --output` `--no-card, --no-write-model-card` `--help`; subcommand `list`.";
        Assert.Empty(help.MissingFrom(complete));
        Assert.Equal(["--data"], help.MissingFrom(complete.Replace("`--data`", "`--data-file`", StringComparison.Ordinal)));
        Assert.Equal(["--no-card"], help.MissingFrom(complete.Replace("--no-card,", "", StringComparison.Ordinal)));
        Assert.Equal(["<models>"], help.MissingFrom(complete.Replace("<models>", "models", StringComparison.Ordinal)));
        Assert.Equal(["list"], help.MissingFrom(complete.Replace("`list`", "list", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_link_to_a_missing_file_heading_or_outside_the_repository_fails_the_check()
    {
        using var dir = new TempDirectory();
        var root = dir.Path;
        Directory.CreateDirectory(Path.Combine(root, "docs"));
        File.WriteAllText(Path.Combine(root, "docs", "page.md"), "# Page\n\n## The `merge` command (MuDSC)\n\ntext\n");
        var readme = Path.Combine(root, "README.md");
        File.WriteAllText(readme, """
            # Title

            [ok](docs/page.md) [ok](docs/page.md#the-merge-command-mudsc) [ok](#title) [web](https://example.org/x.md)
            [missing](docs/nothing.md) [bad anchor](docs/page.md#no-such-heading) [outside](../shared/docs/x.md)

            ```bash
            echo [not a link](nowhere.md)
            ```
            """);
        var broken = Markdown.BrokenLinks(readme, root).ToList();
        Assert.Equal(3, broken.Count);
        Assert.Contains(broken, b => b.Contains("docs/nothing.md", StringComparison.Ordinal));
        Assert.Contains(broken, b => b.Contains("#no-such-heading", StringComparison.Ordinal));
        Assert.Contains(broken, b => b.Contains("../shared/docs/x.md", StringComparison.Ordinal));
    }
}

/// <summary>The names a <c>--help</c> text lists: long options, arguments and subcommands.</summary>
internal sealed partial record HelpText(IReadOnlyList<string> Options, IReadOnlyList<string> Arguments, IReadOnlyList<string> Commands)
{
    public static HelpText Parse(string help)
    {
        List<string> options = [], arguments = [], commands = [];
        var section = "";
        foreach (var raw in help.Replace("\r", "", StringComparison.Ordinal).Split('\n'))
        {
            var line = raw.TrimStart('\uFEFF');
            if (line.Length == 0) continue;
            if (!char.IsWhiteSpace(line[0]))
            {
                section = line.TrimEnd().TrimEnd(':');
                continue;
            }
            // An entry: its names, then two or more spaces, then its description.
            var names = EntryNames().Match(line.Trim()).Value;
            switch (section)
            {
                case "Options":
                    options.AddRange(LongOption().Matches(names).Select(m => m.Value));
                    break;
                case "Arguments":
                    arguments.AddRange(Argument().Matches(names).Select(m => m.Value));
                    break;
                case "Commands":
                    if (names.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [var command, ..]) commands.Add(command);
                    break;
            }
        }
        return new HelpText(options.Distinct().ToList(), arguments.Distinct().ToList(), commands.Distinct().ToList());
    }

    /// <summary>What <paramref name="page"/> does not mention: an option as a whole word, an argument as <c>&lt;name&gt;</c>, a subcommand inside a code span.</summary>
    public List<string> MissingFrom(string page)
    {
        var codeSpans = string.Join("\n", CodeSpan().Matches(page).Select(m => m.Value));
        return Options.Where(o => !Regex.IsMatch(page, $@"(?<![\w-]){Regex.Escape(o)}(?![\w-])"))
            .Concat(Arguments.Where(a => !page.Contains(a, StringComparison.Ordinal)))
            .Concat(Commands.Where(c => !Regex.IsMatch(codeSpans, $@"(?<![\w-]){Regex.Escape(c)}(?![\w-])")))
            .ToList();
    }

    [GeneratedRegex(@"^\S.*?(?=\s{2,}|$)")]
    private static partial Regex EntryNames();

    [GeneratedRegex(@"(?<![\w-])--[a-z0-9][a-z0-9-]*")]
    private static partial Regex LongOption();

    [GeneratedRegex(@"<[^<>\s]+>")]
    private static partial Regex Argument();

    [GeneratedRegex(@"`[^`\n]+`")]
    private static partial Regex CodeSpan();
}

/// <summary>Relative links in Markdown, checked against the files and headings of a repository.</summary>
internal static partial class Markdown
{
    /// <summary>Every relative link of <paramref name="file"/> whose target is missing, outside <paramref name="root"/>, or names a heading the target lacks.</summary>
    public static IEnumerable<string> BrokenLinks(string file, string root)
    {
        var rootFull = Path.GetFullPath(root).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        var name = Path.GetRelativePath(root, file).Replace('\\', '/');
        var text = WithoutCode(File.ReadAllText(file));
        var targets = InlineLink().Matches(text).Select(m => m.Groups["target"].Value)
            .Concat(ReferenceLink().Matches(text).Select(m => m.Groups["target"].Value));
        foreach (var target in targets)
        {
            if (Scheme().IsMatch(target)) continue;
            var hash = target.IndexOf('#', StringComparison.Ordinal);
            var pathPart = Uri.UnescapeDataString(hash < 0 ? target : target[..hash]);
            var anchor = hash < 0 ? null : target[(hash + 1)..];
            var resolved = pathPart.Length == 0
                ? Path.GetFullPath(file)
                : Path.GetFullPath(pathPart.StartsWith('/') ? Path.Combine(root, pathPart.TrimStart('/')) : Path.Combine(Path.GetDirectoryName(file)!, pathPart));
            if (!resolved.StartsWith(rootFull, StringComparison.Ordinal) && resolved + Path.DirectorySeparatorChar != rootFull)
                yield return $"{name}: {target} points outside the repository";
            else if (!File.Exists(resolved) && !Directory.Exists(resolved))
                yield return $"{name}: {target} does not exist";
            else if (anchor is { Length: > 0 } && resolved.EndsWith(".md", StringComparison.OrdinalIgnoreCase) && File.Exists(resolved)
                     && !Anchors(File.ReadAllText(resolved)).Contains(anchor))
                yield return $"{name}: {target} names no heading of {Path.GetFileName(resolved)}";
        }
    }

    /// <summary>GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens, repeats numbered.</summary>
    public static HashSet<string> Anchors(string markdown)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (Match heading in Heading().Matches(WithoutFences(markdown)))
        {
            var slug = new string(heading.Groups["title"].Value.Trim().ToLowerInvariant()
                .Where(c => char.IsLetterOrDigit(c) || c is ' ' or '-' or '_').ToArray()).Replace(' ', '-');
            var count = seen.GetValueOrDefault(slug);
            seen[slug] = count + 1;
            anchors.Add(count == 0 ? slug : $"{slug}-{count}");
        }
        return anchors;
    }

    private static string WithoutFences(string markdown) => Fence().Replace(markdown.Replace("\r", "", StringComparison.Ordinal), "");

    private static string WithoutCode(string markdown) => CodeSpan().Replace(WithoutFences(markdown), "");

    [GeneratedRegex(@"^ *(```|~~~).*?^ *\1[^\n]*$", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex Fence();

    [GeneratedRegex(@"`[^`\n]+`")]
    private static partial Regex CodeSpan();

    [GeneratedRegex(@"!?\[[^\]\n]*\]\((?<target>[^)\s]+)(?:\s+""[^""]*"")?\)")]
    private static partial Regex InlineLink();

    [GeneratedRegex(@"^ {0,3}\[[^\]\n]+\]:\s*(?<target>\S+)", RegexOptions.Multiline)]
    private static partial Regex ReferenceLink();

    [GeneratedRegex(@"^[a-zA-Z][a-zA-Z0-9+.-]*:")]
    private static partial Regex Scheme();

    [GeneratedRegex(@"^#{1,6}[ \t]+(?<title>.+?)[ \t]*#*[ \t]*$", RegexOptions.Multiline)]
    private static partial Regex Heading();
}
