using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Merge;

/// <summary>What a recipe file holds before it means anything: scalars, lists and mappings, each where it was written (1-based).</summary>
internal abstract record RecipeNode(int Line, int Column)
{
    /// <summary>How many values this node stands for, aliases expanded (a scalar is one).</summary>
    public abstract int Size { get; }

    /// <summary>What it is, for messages: <c>text 'ten'</c>, <c>the number 1.5</c>, <c>a list</c>.</summary>
    public abstract string Describe();
}

internal enum ScalarKind { Text, Integer, Float, Boolean, Null }

internal sealed record RecipeScalar(string Text, ScalarKind Kind, int Line, int Column) : RecipeNode(Line, Column)
{
    public override int Size => 1;

    public override string Describe() => Kind switch
    {
        ScalarKind.Text => $"text '{Shorten(Text)}'",
        ScalarKind.Integer or ScalarKind.Float => $"the number {Shorten(Text)}",
        ScalarKind.Boolean => Text.ToLowerInvariant(),
        _ => "null",
    };

    private static string Shorten(string text)
    {
        var line = text.ReplaceLineEndings(" ").Replace("\0", "\\0", StringComparison.Ordinal);
        return line.Length <= 40 ? line : line[..37] + "...";
    }
}

internal sealed record RecipeList(IReadOnlyList<RecipeNode> Items, int Line, int Column) : RecipeNode(Line, Column)
{
    public override int Size { get; } = 1 + Items.Sum(i => i.Size);

    public override string Describe() => "a list";
}

internal sealed record RecipeMap(IReadOnlyList<KeyValuePair<RecipeScalar, RecipeNode>> Entries, int Line, int Column) : RecipeNode(Line, Column)
{
    public override int Size { get; } = 1 + Entries.Sum(e => 1 + e.Value.Size);

    public override string Describe() => "a mapping";
}

internal enum RecipeFormat { Json, Yaml }

/// <summary>
/// Reads a recipe file, YAML or JSON, into <see cref="RecipeNode"/>s. Both parsers are iterative and
/// bounded: a file over <see cref="MaxBytes"/>, nesting deeper than <see cref="MaxDepth"/>, or more
/// than <see cref="MaxValues"/> values once YAML aliases are expanded (a "billion laughs" document)
/// is refused in one line, as is anything malformed (with its line and column). Every refusal is a
/// usage error: the recipe is what the user wrote.
/// </summary>
internal static partial class RecipeSyntax
{
    /// <summary>A recipe is a few hundred bytes; a megabyte is no recipe.</summary>
    public const long MaxBytes = 1 << 20;
    /// <summary>A recipe nests three deep (evaluate → tasks → a task); sixteen is generous.</summary>
    public const int MaxDepth = 16;
    /// <summary>A recipe has tens of values; aliases may not multiply them past this.</summary>
    public const int MaxValues = 10_000;

    /// <summary>By extension (<c>.yaml</c>, <c>.yml</c>, <c>.json</c>), else by content: JSON when it starts with <c>{</c> or <c>[</c>.</summary>
    public static RecipeFormat FormatOf(string path, string text)
    {
        var extension = Path.GetExtension(path).ToLowerInvariant();
        if (extension is ".yaml" or ".yml") return RecipeFormat.Yaml;
        if (extension == ".json") return RecipeFormat.Json;
        var first = text.TrimStart('\uFEFF', ' ', '\t', '\r', '\n');
        return first.StartsWith('{') || first.StartsWith('[') ? RecipeFormat.Json : RecipeFormat.Yaml;
    }

    /// <summary>The document in <paramref name="text"/>; null when it is empty. <paramref name="file"/> names it in errors.</summary>
    public static RecipeNode? Parse(string file, string text, RecipeFormat format)
    {
        if (Encoding.UTF8.GetByteCount(text) > MaxBytes) throw TooLarge(file);
        return format == RecipeFormat.Json ? ParseJson(file, text) : ParseYaml(file, text);
    }

    public static ZipItException TooLarge(string file) =>
        ZipItException.Usage($"{file}: over {MaxBytes / (1 << 20)} MiB; a recipe is a few lines, refused");

    private static ZipItException At(string file, int line, int column, string message) =>
        ZipItException.Usage($"{file}:{line}:{column}: {message}");

    private static ZipItException TooDeep(string file, int line, int column) =>
        At(file, line, column, $"nested deeper than {MaxDepth} levels; a recipe is at most three deep, refused");

    private static ZipItException TooMany(string file, int line, int column) =>
        At(file, line, column, $"more than {MaxValues} values (aliases expanding without end?); a recipe has tens, refused");

    private sealed class Frame(bool isMap, int line, int column, string? anchor)
    {
        public readonly bool IsMap = isMap;
        public readonly int Line = line, Column = column;
        public readonly string? Anchor = anchor;
        public readonly List<RecipeNode> Items = [];
        public readonly List<KeyValuePair<RecipeScalar, RecipeNode>> Entries = [];
        public RecipeScalar? Key;
    }

    // ---- YAML --------------------------------------------------------------------------------

    private static RecipeNode? ParseYaml(string file, string text)
    {
        var parser = new Parser(new StringReader(text));
        var stack = new Stack<Frame>();
        var anchors = new Dictionary<string, RecipeNode>(StringComparer.Ordinal);
        RecipeNode? root = null;
        var documents = 0;
        long values = 0;
        var (lastLine, lastColumn) = (1, 1);
        try
        {
            while (Next())
            {
                var e = parser.Current!;
                (lastLine, lastColumn) = ((int)e.End.Line, (int)e.End.Column);
                var (line, column) = ((int)e.Start.Line, (int)e.Start.Column);
                switch (e)
                {
                    case DocumentStart:
                        if (++documents > 1) throw At(file, line, column, "a second YAML document ('---'); a recipe is one document");
                        break;
                    case Scalar s:
                        if (++values > MaxValues) throw TooMany(file, line, column);
                        Add(Remember(ScalarOf(file, s, line, column), s.Anchor));
                        break;
                    case AnchorAlias a:
                        if (!anchors.TryGetValue(a.Value.Value, out var target))
                            throw At(file, line, column, $"alias *{a.Value.Value} names no anchor (&{a.Value.Value}) before it");
                        values += target.Size;
                        if (values > MaxValues) throw TooMany(file, line, column);
                        Add(target);
                        break;
                    case SequenceStart q:
                        Open(false, q.Tag, q.Anchor, line, column);
                        break;
                    case MappingStart m:
                        Open(true, m.Tag, m.Anchor, line, column);
                        break;
                    case SequenceEnd or MappingEnd:
                        var frame = stack.Pop();
                        RecipeNode node = frame.IsMap
                            ? new RecipeMap(frame.Entries, frame.Line, frame.Column)
                            : new RecipeList(frame.Items, frame.Line, frame.Column);
                        Add(Remember(node, frame.Anchor is null ? AnchorName.Empty : new AnchorName(frame.Anchor)));
                        break;
                }
            }
        }
        catch (YamlException e)
        {
            throw At(file, (int)e.Start.Line, (int)e.Start.Column, $"not valid YAML: {YamlMessage(e)}");
        }
        return root is RecipeScalar { Kind: ScalarKind.Null } ? null : root;

        // YamlDotNet throws more than YamlException on some malformed input (an unclosed flow
        // sequence over lines: InvalidOperationException); whatever its reader throws is the file's fault.
        bool Next()
        {
            try
            {
                return parser.MoveNext();
            }
            catch (Exception e) when (e is not (YamlException or OutOfMemoryException))
            {
                throw At(file, lastLine, lastColumn, $"not valid YAML after this point (the YAML reader stopped: {Messages.OneLine(e.Message)})");
            }
        }

        void Open(bool isMap, TagName tag, AnchorName anchor, int line, int column)
        {
            if (++values > MaxValues) throw TooMany(file, line, column);
            if (stack.Count + 1 > MaxDepth) throw TooDeep(file, line, column);
            if (!tag.IsEmpty && !tag.IsNonSpecific && tag.Value is not ("tag:yaml.org,2002:map" or "tag:yaml.org,2002:seq"))
                throw At(file, line, column, $"the tag {tag.Value} is not supported in a recipe");
            stack.Push(new Frame(isMap, line, column, anchor.IsEmpty ? null : anchor.Value));
        }

        RecipeNode Remember(RecipeNode node, AnchorName anchor)
        {
            if (!anchor.IsEmpty) anchors[anchor.Value] = node;
            return node;
        }

        void Add(RecipeNode node)
        {
            if (stack.Count == 0)
            {
                root = node;
                return;
            }
            var top = stack.Peek();
            if (!top.IsMap)
            {
                top.Items.Add(node);
            }
            else if (top.Key is null)
            {
                top.Key = node as RecipeScalar ?? throw At(file, node.Line, node.Column, $"a key must be text, not {node.Describe()}");
            }
            else
            {
                top.Entries.Add(new(top.Key!, node));
                top.Key = null;
            }
        }
    }

    /// <summary>A YAML scalar as the core schema reads it: plain <c>7</c> is a number, <c>"7"</c> and <c>'7'</c> are text.</summary>
    private static RecipeScalar ScalarOf(string file, Scalar s, int line, int column)
    {
        var text = s.Value;
        var tag = s.Tag;
        if (!tag.IsEmpty && !tag.IsNonSpecific)
        {
            var kind = tag.Value switch
            {
                "tag:yaml.org,2002:str" => ScalarKind.Text,
                "tag:yaml.org,2002:int" => ScalarKind.Integer,
                "tag:yaml.org,2002:float" => ScalarKind.Float,
                "tag:yaml.org,2002:bool" => ScalarKind.Boolean,
                "tag:yaml.org,2002:null" => ScalarKind.Null,
                _ => throw At(file, line, column, $"the tag {tag.Value} is not supported in a recipe"),
            };
            if (kind != ScalarKind.Text && Resolve(text) is var resolved && resolved != kind && !(kind == ScalarKind.Float && resolved == ScalarKind.Integer))
                throw At(file, line, column, $"'{text}' is not a valid {tag.Value[(tag.Value.LastIndexOf(':') + 1)..]}");
            return new RecipeScalar(Normalise(text, kind), kind, line, column);
        }
        if (s.Style != ScalarStyle.Plain) return new RecipeScalar(text, ScalarKind.Text, line, column);
        var plain = Resolve(text);
        return new RecipeScalar(Normalise(text, plain), plain, line, column);
    }

    private static ScalarKind Resolve(string text) => text switch
    {
        "" or "~" or "null" or "Null" or "NULL" => ScalarKind.Null,
        "true" or "True" or "TRUE" or "false" or "False" or "FALSE" => ScalarKind.Boolean,
        _ when YamlInteger().IsMatch(text) => ScalarKind.Integer,
        _ when YamlFloat().IsMatch(text) => ScalarKind.Float,
        _ => ScalarKind.Text,
    };

    /// <summary>Hexadecimal and octal integers as decimal, booleans in lower case; the rest as written.</summary>
    private static string Normalise(string text, ScalarKind kind)
    {
        if (kind == ScalarKind.Boolean) return text.ToLowerInvariant();
        if (kind != ScalarKind.Integer) return text;
        try
        {
            if (text.StartsWith("0x", StringComparison.Ordinal)) return Convert.ToUInt64(text[2..], 16).ToString(CultureInfo.InvariantCulture);
            if (text.StartsWith("0o", StringComparison.Ordinal)) return Convert.ToUInt64(text[2..], 8).ToString(CultureInfo.InvariantCulture);
        }
        catch (OverflowException) { }
        return text.StartsWith('+') ? text[1..] : text;
    }

    [GeneratedRegex(@"^([-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")]
    private static partial Regex YamlInteger();

    [GeneratedRegex(@"^([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$")]
    private static partial Regex YamlFloat();

    /// <summary>YamlDotNet's message without the position it prefixes (the error names it already).</summary>
    private static string YamlMessage(YamlException e) => Messages.OneLine(YamlPosition().Replace(e.Message, ""));

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ")]
    private static partial Regex YamlPosition();

    // ---- JSON --------------------------------------------------------------------------------

    private static RecipeNode? ParseJson(string file, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text.TrimStart('\uFEFF'));
        var lines = new List<int> { 0 };
        for (var i = 0; i < bytes.Length; i++)
            if (bytes[i] == (byte)'\n') lines.Add(i + 1);
        (int Line, int Column) Position(long offset)
        {
            var index = lines.BinarySearch((int)offset);
            if (index < 0) index = ~index - 1;
            return (index + 1, Encoding.UTF8.GetCharCount(bytes, lines[index], (int)offset - lines[index]) + 1);
        }

        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions
        {
            CommentHandling = JsonCommentHandling.Skip,
            AllowTrailingCommas = true,
            MaxDepth = MaxDepth + 1,
        });
        var stack = new Stack<Frame>();
        RecipeNode? root = null;
        long values = 0;
        try
        {
            while (reader.Read())
            {
                var (line, column) = Position(reader.TokenStartIndex);
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        if (++values > MaxValues) throw TooMany(file, line, column);
                        if (stack.Count + 1 > MaxDepth) throw TooDeep(file, line, column);
                        stack.Push(new Frame(reader.TokenType == JsonTokenType.StartObject, line, column, null));
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        var frame = stack.Pop();
                        Add(frame.IsMap ? new RecipeMap(frame.Entries, frame.Line, frame.Column) : new RecipeList(frame.Items, frame.Line, frame.Column));
                        break;
                    case JsonTokenType.PropertyName:
                        stack.Peek().Key = new RecipeScalar(reader.GetString()!, ScalarKind.Text, line, column);
                        break;
                    default:
                        if (++values > MaxValues) throw TooMany(file, line, column);
                        Add(reader.TokenType switch
                        {
                            JsonTokenType.String => new RecipeScalar(reader.GetString()!, ScalarKind.Text, line, column),
                            JsonTokenType.Number => Number(Encoding.UTF8.GetString(reader.ValueSpan), line, column),
                            JsonTokenType.True => new RecipeScalar("true", ScalarKind.Boolean, line, column),
                            JsonTokenType.False => new RecipeScalar("false", ScalarKind.Boolean, line, column),
                            _ => new RecipeScalar("null", ScalarKind.Null, line, column),
                        });
                        break;
                }
            }
        }
        catch (JsonException e)
        {
            var (line, column) = e.LineNumber is { } l ? ((int)l + 1, (int)(e.BytePositionInLine ?? 0) + 1) : (1, 1);
            var message = JsonPosition().Replace(e.Message, "");
            if (message.Contains("maximum configured depth", StringComparison.Ordinal)) throw TooDeep(file, line, column);
            throw At(file, line, column, $"not valid JSON: {Messages.OneLine(message)}");
        }
        catch (InvalidOperationException e)
        {
            // GetString on a string with an invalid escape or invalid UTF-8.
            var (line, column) = Position(reader.TokenStartIndex);
            throw At(file, line, column, $"not valid JSON: {Messages.OneLine(e.Message)}");
        }
        if (stack.Count > 0) throw At(file, stack.Peek().Line, stack.Peek().Column, "not valid JSON: it ends before this is closed");
        return root is RecipeScalar { Kind: ScalarKind.Null } ? null : root;

        void Add(RecipeNode node)
        {
            if (stack.Count == 0)
            {
                root = node;
                return;
            }
            var top = stack.Peek();
            if (top.IsMap)
            {
                top.Entries.Add(new(top.Key!, node));
                top.Key = null;
            }
            else
            {
                top.Items.Add(node);
            }
        }
    }

    private static RecipeScalar Number(string text, int line, int column) =>
        new(text, text.IndexOfAny(['.', 'e', 'E']) >= 0 ? ScalarKind.Float : ScalarKind.Integer, line, column);

    [GeneratedRegex(@"\s*(Path: \S*\s*\|\s*)?LineNumber: \d+ \| BytePositionInLine: \d+\.?$")]
    private static partial Regex JsonPosition();
}
