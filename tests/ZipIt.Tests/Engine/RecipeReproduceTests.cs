using System.Text;
using System.Text.Json;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Core;
using ZipIt.Tests.Infrastructure;
using ZipIt.Tests.Vit;

namespace ZipIt.Tests.Engine;

/// <summary>
/// The model card's "reproduce" command, as written, run in another folder (a copy of the files,
/// moved together, and another working directory) writes the same checkpoint bytes: the recipe
/// beside the output holds every option that shaped the merge, the architecture settings among
/// them, with paths relative to its folder.
/// </summary>
[Trait("Category", Tier.Integration)]
[Collection(SerialCollection.Name)] // changes the current directory
public sealed class RecipeReproduceTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly TempDirectory _elsewhere = new();

    public void Dispose()
    {
        _dir.Dispose();
        _elsewhere.Dispose();
    }

    [Fact]
    public void A_yaml_recipe_merge_reproduces_byte_for_byte_from_the_cards_command_in_a_moved_copy()
    {
        var work = Directory.CreateDirectory(_dir.File("work")).FullName;
        using var models = new TempDirectory();
        var (a, b, data) = MergeCommandTests.WriteModels(models);
        foreach (var f in new[] { a, b, data }) File.Copy(f, Path.Combine(work, Path.GetFileName(f)));
        Directory.CreateDirectory(Path.Combine(work, "conf"));
        File.WriteAllText(Path.Combine(work, "conf", "merge.yaml"), """
            models: [../a.safetensors, ../b.safetensors]
            data: ../data.safetensors
            images: 12
            batch_size: 12
            stop: 7
            alpha: 0.5
            settings: {merge-eps: 1e-5}
            output: ../out/merged.safetensors
            """);
        // Run from the work folder; a flag overrides the file and must be in the recipe written.
        var result = InFolder(work, () => Tool.Run("merge", "conf/merge.yaml", "--seed", "4"));
        Assert.True(result.ExitCode == 0, result.ToString());

        var written = JsonDocument.Parse(File.ReadAllText(Path.Combine(work, "out", "merged.safetensors.recipe.json"))).RootElement;
        Assert.Equal(["../a.safetensors", "../b.safetensors"], written.GetProperty("models").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(7, written.GetProperty("stop").GetInt32());
        Assert.Equal(4, written.GetProperty("seed").GetInt64());

        AssertTheCardReproducesIt(work, "out", "merged.safetensors", alsoFromElsewhere: false);
    }

    [Fact]
    public void A_vit_merge_that_needed_arch_set_reproduces_byte_for_byte_from_the_cards_command()
    {
        var work = Directory.CreateDirectory(_dir.File("vit")).FullName;
        // The d96 fixture without its num_heads metadata: recognised only with --arch-set heads=3.
        var fixture = Repository.Fixture("parity", "timm_vit_p4_d96_h3_l3.safetensors");
        var config = VitTestUtil.Architecture.Recognize(VitTestUtil.FixtureSignature("timm_vit_p4_d96_h3_l3"))!;
        using (var file = Checkpoint.Open(fixture))
        {
            var weights = file.ReadAll();
            CheckpointWriter.WriteFile(Path.Combine(work, "a.safetensors"), weights);
            CheckpointWriter.WriteFile(Path.Combine(work, "b.safetensors"), GraphPermutation.Apply(weights, VitTestUtil.Architecture.Describe(config), seed: 5));
        }
        var without = InFolder(work, () => Tool.Run("merge", "--models", "a.safetensors", "b.safetensors", "--matcher", "average", "-o", "out/vit.safetensors"));
        Assert.Equal(3, without.ExitCode);

        var result = InFolder(work, () => Tool.Run("merge", "--models", "a.safetensors", "b.safetensors", "--matcher", "average", "-o", "out/vit.safetensors", "--arch-set", "heads=3"));
        Assert.True(result.ExitCode == 0, result.ToString());
        var written = JsonDocument.Parse(File.ReadAllText(Path.Combine(work, "out", "vit.safetensors.recipe.json"))).RootElement;
        Assert.Equal("3", written.GetProperty("arch_settings").GetProperty("heads").GetString());

        AssertTheCardReproducesIt(work, "out", "vit.safetensors");
    }

    /// <summary>
    /// Copies <paramref name="work"/> elsewhere, removes the copy's checkpoint, runs the card's
    /// recipe command in the copy's <paramref name="folder"/> (another working directory than the
    /// merge's) and, for a fast merge, also from an unrelated one (with the recipe's path), and compares the bytes.
    /// </summary>
    private void AssertTheCardReproducesIt(string work, string folder, string name, bool alsoFromElsewhere = true)
    {
        var original = File.ReadAllBytes(Path.Combine(work, folder, name));
        var card = File.ReadAllText(Path.Combine(work, folder, Path.GetFileNameWithoutExtension(name) + ".README.md"));
        var words = Words(LastShellBlock(card));
        var tool = ToolIdentity.Command.Split(' ');
        Assert.Equal(tool, words.Take(tool.Length));
        string[] args = [.. words.Skip(tool.Length)];
        Assert.Equal(["merge", name + ".recipe.json"], args);

        var copy = Path.Combine(_elsewhere.Path, "moved");
        CopyTree(work, copy);
        var output = Path.Combine(copy, folder, name);
        File.Delete(output);
        var again = InFolder(Path.Combine(copy, folder), () => Tool.Run(args));
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Equal(original, File.ReadAllBytes(output));

        if (!alsoFromElsewhere) return;
        File.Delete(output);
        var fromElsewhere = InFolder(_elsewhere.Path, () => Tool.Run("merge", Path.Combine("moved", folder, args[1])));
        Assert.True(fromElsewhere.ExitCode == 0, fromElsewhere.ToString());
        Assert.Equal(original, File.ReadAllBytes(output));
    }

    private static CliResult InFolder(string folder, Func<CliResult> run)
    {
        var cwd = Environment.CurrentDirectory;
        Environment.CurrentDirectory = folder;
        try { return run(); }
        finally { Environment.CurrentDirectory = cwd; }
    }

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
    }

    /// <summary>The last <c>```sh</c> block of a card: the recipe command.</summary>
    private static string LastShellBlock(string markdown)
    {
        var start = markdown.LastIndexOf("```sh\n", StringComparison.Ordinal);
        Assert.True(start >= 0, markdown);
        start += "```sh\n".Length;
        return markdown[start..markdown.IndexOf("\n```", start, StringComparison.Ordinal)];
    }

    /// <summary>A command line split as a POSIX shell splits words with single quotes (the quoting <c>Shell.Quote</c> writes).</summary>
    private static List<string> Words(string line)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (c == '\'')
            {
                var end = line.IndexOf('\'', i + 1);
                word.Append(line, i + 1, end - i - 1);
                i = end;
                inWord = true;
            }
            else if (c == '\\' && i + 1 < line.Length)
            {
                word.Append(line[++i]);
                inWord = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord) words.Add(word.ToString());
                word.Clear();
                inWord = false;
            }
            else
            {
                word.Append(c);
                inWord = true;
            }
        }
        if (inWord) words.Add(word.ToString());
        return words;
    }
}
