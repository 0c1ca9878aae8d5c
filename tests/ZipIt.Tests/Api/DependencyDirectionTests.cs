using System.Text.RegularExpressions;

namespace ZipIt.Tests.Api;

/// <summary>
/// Keeps the dependency picture of docs/architecture.md true. The compiler keeps the assemblies
/// one-way (the tool references the engine, never the reverse); this test keeps the folders inside
/// them one-way: a folder may use the types of folders in lower layers only (and of its own layer
/// where the table says so). A folder's types are the top-level classes, records, structs, enums and
/// interfaces declared in it (nested ones are private to their file); a use is the type's name as a
/// word in another folder's code (comments and strings stripped), also when it is qualified
/// (<c>Commands.CommonOptions</c>, <c>ZipIt.Engine.Merge.MergeSession</c>), or a <c>using</c> of
/// the folder's namespace.
/// </summary>
public sealed class DependencyDirectionTests
{
    // Lowest first, each with its assembly. A folder may use folders of lower layers; same-layer folders only as listed below.
    private static readonly (string Assembly, string[] Folders)[] Layers =
    [
        ("ZipIt.Engine", ["Core"]),
        ("ZipIt.Engine", ["Output"]),
        ("ZipIt.Engine", ["Checkpoints", "Runtime"]),
        ("ZipIt.Engine", ["Plugins", "Data"]),
        ("ZipIt.Engine", ["Zip"]),
        ("ZipIt.Engine", ["Models"]),
        ("ZipIt.Engine", ["ResetBn", "Collect", "Matching", "Evaluate", "Refit", "Repair"]),
        ("ZipIt.Engine", ["Merge", "Train"]),
        ("ZipIt.Engine", ["Reproduce"]),
        ("ZipIt.Tool", ["Hosting"]),
        ("ZipIt.Tool", ["Commands"]),
        ("ZipIt.Tool", ["Cli"]),
    ];

    private static readonly HashSet<string> ToolFolders = Layers.Where(l => l.Assembly == "ZipIt.Tool").SelectMany(l => l.Folders).ToHashSet();

    // Within the stage layer, a stage may use the artifacts of the stages before it.
    private static readonly (string From, string To)[] SameLayer =
    [
        ("Collect", "ResetBn"),
        ("Matching", "Collect"),
        ("Refit", "ResetBn"),
    ];

    private static readonly Regex Declaration = new(@"^(?:(?:public|internal|private|protected|sealed|static|abstract|readonly|partial|file)\s+)*(?:class|record(?: struct| class)?|struct|enum|interface)\s+(\w+)", RegexOptions.Multiline);

    [Fact]
    public void Folders_depend_downwards_only()
    {
        var layerOf = Layers.SelectMany((layer, i) => layer.Folders.Select(f => (Folder: f, Layer: i, layer.Assembly))).ToDictionary(x => x.Folder);
        var folders = Layers.Select(l => l.Assembly).Distinct().SelectMany(assembly =>
        {
            var root = Path.Combine(Repository.Root, "src", assembly);
            // Folders of code (build outputs and scratch folders hold none).
            return Directory.GetDirectories(root).Where(d => Path.GetFileName(d) is not ("bin" or "obj") && Directory.GetFiles(d, "*.cs", SearchOption.AllDirectories).Length > 0)
                .Select(d => (Assembly: assembly, Folder: Path.GetFileName(d)!, Path: d));
        }).ToList();
        Assert.All(folders, f => Assert.True(layerOf.TryGetValue(f.Folder, out var layer) && layer.Assembly == f.Assembly,
            $"folder '{f.Assembly}/{f.Folder}' is in no layer of {f.Assembly} in the dependency picture"));

        var code = folders.ToDictionary(f => f.Folder, f => Directory.GetFiles(f.Path, "*.cs", SearchOption.AllDirectories)
            .Select(file => (File: Path.GetRelativePath(Path.Combine(Repository.Root, "src"), file), Text: StripComments(File.ReadAllText(file)))).ToList());
        var typesOf = code.ToDictionary(kv => kv.Key, kv => kv.Value.SelectMany(c => Declaration.Matches(c.Text).Select(m => m.Groups[1].Value)).ToHashSet());
        var owners = typesOf.SelectMany(kv => kv.Value.Select(t => (Type: t, Folder: kv.Key))).GroupBy(x => x.Type)
            .Where(g => g.Count() == 1).ToDictionary(g => g.Key, g => g.Single().Folder);

        var violations = new List<string>();
        foreach (var (folder, files) in code)
            foreach (var (file, text) in files)
                foreach (var (owner, what) in Uses(text, owners, layerOf.Keys.ToHashSet()))
                {
                    if (owner == folder) continue;
                    var allowed = layerOf[owner].Layer < layerOf[folder].Layer || SameLayer.Contains((folder, owner));
                    if (!allowed) violations.Add($"{file} uses {owner}/{what}");
                }
        Assert.True(violations.Count == 0, "upward dependencies:\n" + string.Join("\n", violations.Distinct()));
    }

    [Fact]
    public void Qualified_names_and_usings_are_uses()
    {
        // The two upward uses an earlier version of this test missed, as they were written.
        var owners = new Dictionary<string, string> { ["CommonOptions"] = "Commands", ["BuiltInMatchers"] = "Matching" };
        HashSet<string> folders = ["Commands", "Matching", "Merge"];
        Assert.Contains(("Commands", "CommonOptions"), Uses("o.Name == Commands.CommonOptions.DeviceOptionName", owners, folders));
        Assert.Contains(("Matching", "BuiltInMatchers"), Uses("new Matching.BuiltInMatchers().Register(r);", owners, folders));
        Assert.Contains(("Merge", "namespace"), Uses("using ZipIt.Engine.Merge;", owners, folders));
        // A member access is not a use of a folder that shares the member's name.
        Assert.Empty(Uses("task.Train.Count + pair.Merge.Dispose()", owners, folders));
    }

    /// <summary>The folders <paramref name="text"/> uses, each with the type (or <c>namespace</c>) that makes it a use.</summary>
    private static IEnumerable<(string Owner, string What)> Uses(string text, IReadOnlyDictionary<string, string> owners, IReadOnlySet<string> folders)
    {
        // A type name used as a type: not a member access (x.Name) nor a property declared with that name.
        foreach (Match word in Regex.Matches(text, @"(?<!\.)\b[A-Z]\w+\b(?!\s*\{\s*(get|set|init))(?!\s*=[^=>])"))
            if (owners.TryGetValue(word.Value, out var owner)) yield return (owner, word.Value);
        // A qualified type name (Commands.CommonOptions, ZipIt.Engine.Merge.MergeSession).
        foreach (Match qualified in Regex.Matches(text, @"\b([A-Z]\w+)\.([A-Z]\w+)\b"))
            if (owners.TryGetValue(qualified.Groups[2].Value, out var owner) && owner == qualified.Groups[1].Value) yield return (owner, qualified.Groups[2].Value);
        // A using of a folder's namespace: ZipIt.Engine.X for the engine's, ZipIt.X for the tool's (ZipIt.Matching is an assembly of its own).
        foreach (Match directive in Regex.Matches(text, @"^\s*using\s+(?:static\s+)?ZipIt\.(Engine\.)?(\w+)", RegexOptions.Multiline))
            if (folders.Contains(directive.Groups[2].Value) && (directive.Groups[1].Success || ToolFolders.Contains(directive.Groups[2].Value)))
                yield return (directive.Groups[2].Value, "namespace");
    }

    [Fact]
    public void Every_namespace_belongs_to_one_assembly()
    {
        var namespaces = new Dictionary<string, HashSet<string>>();
        foreach (var project in Directory.GetFiles(Path.Combine(Repository.Root, "src"), "*.csproj", SearchOption.AllDirectories)
                     .Concat(Directory.GetFiles(Path.Combine(Repository.Root, "plugins"), "*.csproj", SearchOption.AllDirectories)))
        {
            var folder = Path.GetDirectoryName(project)!;
            foreach (var file in Directory.GetFiles(folder, "*.cs", SearchOption.AllDirectories).Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}")))
                foreach (Match ns in Regex.Matches(File.ReadAllText(file), @"^namespace\s+([\w.]+)", RegexOptions.Multiline))
                {
                    if (!namespaces.TryGetValue(ns.Groups[1].Value, out var owners)) namespaces[ns.Groups[1].Value] = owners = [];
                    owners.Add(Path.GetFileNameWithoutExtension(project));
                }
        }
        var shared = namespaces.Where(kv => kv.Value.Count > 1).Select(kv => $"{kv.Key}: {string.Join(", ", kv.Value.Order())}").ToList();
        Assert.True(shared.Count == 0, "namespaces in more than one assembly:\n" + string.Join("\n", shared));
    }

    private static string StripComments(string code) =>
        Regex.Replace(code, @"//[^\n]*|/\*.*?\*/|""(?:[^""\\\n]|\\.)*""", "", RegexOptions.Singleline);
}
