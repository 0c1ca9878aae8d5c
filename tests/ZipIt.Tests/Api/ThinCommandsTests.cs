using System.Text.RegularExpressions;

namespace ZipIt.Tests.Api;

/// <summary>
/// Every command drives the engine through a <c>MergeSession</c>: none loads models, collects,
/// matches, zips, resets BatchNorm or evaluates by calling the stage itself, so a check or a stage
/// added to the session reaches every command. (<c>inspect</c> may ask the loader to identify a
/// file: it reads names and shapes, it loads no model.)
/// </summary>
public sealed class ThinCommandsTests
{
    private static readonly (string Pattern, string What)[] StageCalls =
    [
        (@"\bModelLoader\b[^;]*\.Load(All)?\(|\bloader\.Load(All)?\(|Get<ModelLoader>\(\)\.Load(All)?\(", "loads models"),
        (@"\bCollectStage\.|\bStatisticsCollector\.", "collects statistics"),
        (@"\bMatchStage\.Run\(", "matches"),
        (@"\bZipper\.", "zips"),
        (@"\bBatchNormReset\.Run\(", "resets BatchNorm"),
        (@"\bEvaluationStage\.", "evaluates"),
        (@"\bRefitStage\.", "refits"),
    ];

    [Fact]
    public void No_command_calls_a_stage_directly()
    {
        var commands = Path.Combine(Repository.Root, "src", "ZipIt.Tool", "Commands");
        var found = Directory.GetFiles(commands, "*.cs")
            .SelectMany(file => StageCalls.Where(c => Regex.IsMatch(StripComments(File.ReadAllText(file)), c.Pattern))
                .Select(c => $"{Path.GetFileName(file)} {c.What} itself"))
            .ToList();
        Assert.True(found.Count == 0, "commands that bypass the session:\n" + string.Join("\n", found));
    }

    [Fact]
    public void The_check_finds_a_direct_call()
    {
        Assert.Contains(StageCalls, c => Regex.IsMatch("var loaded = ctx.Get<ModelLoader>().LoadAll(paths, ctx.Device, arch);", c.Pattern));
        Assert.Contains(StageCalls, c => Regex.IsMatch("using var zipped = Zipper.Zip(states, graph, matches, stop, new ZipOptions());", c.Pattern));
        Assert.DoesNotContain(StageCalls, c => Regex.IsMatch("var identity = ctx.Get<ModelLoader>().Identify(checkpoint, arch);", c.Pattern));
    }

    private static string StripComments(string code) => Regex.Replace(code, @"//[^\n]*|/\*.*?\*/", "", RegexOptions.Singleline);
}
