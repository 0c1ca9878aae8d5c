using System.Text.RegularExpressions;

namespace ZipIt.Tests.Api;

/// <summary>
/// Keeps the README's dependency picture true: a folder of src/ZipIt.Tool may use the types of
/// folders in lower layers only (and of its own layer where the table says so). A folder's types
/// are the top-level classes, records, structs, enums and interfaces declared in it (nested ones are
/// private to their file); a use is the type's name
/// as a word in another folder's code (comments stripped).
/// </summary>
public sealed class DependencyDirectionTests
{
    // Lowest first. A folder may use folders of lower layers; same-layer folders only as listed below.
    private static readonly string[][] Layers =
    [
        ["Core"],
        ["Output"],
        ["Checkpoints", "Runtime"],
        ["Plugins", "Data"],
        ["Zip"],
        ["Models"],
        ["ResetBn", "Collect", "Matching", "Evaluate"],
        ["Merge", "Train"],
        ["Reproduce"],
        ["Hosting"],
        ["Commands"],
        ["Cli"],
    ];

    // Within the stage layer, a stage may use the artifacts of the stages before it.
    private static readonly (string From, string To)[] SameLayer =
    [
        ("Collect", "ResetBn"),
        ("Matching", "Collect"),
    ];

    private static readonly Regex Declaration = new(@"^(?:(?:public|internal|private|protected|sealed|static|abstract|readonly|partial|file)\s+)*(?:class|record(?: struct| class)?|struct|enum|interface)\s+(\w+)", RegexOptions.Multiline);

    [Fact]
    public void Tool_folders_depend_downwards_only()
    {
        var root = Path.Combine(Repository.Root, "src", "ZipIt.Tool");
        var layerOf = Layers.SelectMany((folders, i) => folders.Select(f => (f, i))).ToDictionary(x => x.f, x => x.i);
        // Folders of code (build outputs and scratch folders hold none).
        var folders = Directory.GetDirectories(root).Where(d => Directory.GetFiles(d, "*.cs", SearchOption.AllDirectories).Length > 0 && Path.GetFileName(d) is not ("bin" or "obj"))
            .Select(Path.GetFileName).ToList();
        Assert.All(folders, f => Assert.True(layerOf.ContainsKey(f!), $"folder '{f}' is in no layer of the dependency picture"));

        var code = folders.ToDictionary(f => f!, f => Directory.GetFiles(Path.Combine(root, f!), "*.cs", SearchOption.AllDirectories)
            .Select(file => (File: Path.GetRelativePath(root, file), Text: StripComments(File.ReadAllText(file)))).ToList());
        var typesOf = code.ToDictionary(kv => kv.Key, kv => kv.Value.SelectMany(c => Declaration.Matches(c.Text).Select(m => m.Groups[1].Value)).ToHashSet());
        var owners = typesOf.SelectMany(kv => kv.Value.Select(t => (Type: t, Folder: kv.Key))).GroupBy(x => x.Type)
            .Where(g => g.Count() == 1).ToDictionary(g => g.Key, g => g.Single().Folder);

        var violations = new List<string>();
        foreach (var (folder, files) in code)
            foreach (var (file, text) in files)
                // A type name used as a type: not a member access (x.Name) nor a property declared with that name.
                foreach (Match word in Regex.Matches(text, @"(?<!\.)\b[A-Z]\w+\b(?!\s*\{\s*(get|set|init))(?!\s*=[^=>])"))
                {
                    if (!owners.TryGetValue(word.Value, out var owner) || owner == folder) continue;
                    var allowed = layerOf[owner] < layerOf[folder] || SameLayer.Contains((folder, owner));
                    if (!allowed) violations.Add($"{file} uses {owner}/{word.Value}");
                }
        Assert.True(violations.Count == 0, "upward dependencies:\n" + string.Join("\n", violations.Distinct()));
    }

    private static string StripComments(string code) =>
        Regex.Replace(code, @"//[^\n]*|/\*.*?\*/|""(?:[^""\\\n]|\\.)*""", "", RegexOptions.Singleline);
}
