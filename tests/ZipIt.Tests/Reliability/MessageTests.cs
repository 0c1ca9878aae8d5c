using ZipIt.Hosting;
using System.Text.RegularExpressions;
using ZipIt.Cli;
using static ZipIt.Tests.Reliability.ReliabilitySupport;

namespace ZipIt.Tests.Reliability;

/// <summary>Every error a person sees is one plain line: the right exit code, what is wrong, and no .NET type name.</summary>
[Trait("Category", ZipIt.Tests.Infrastructure.Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed partial class MessageTests
{
    [GeneratedRegex(@"System\.|ZipIt\.[A-Z]|`1|Int32|Nullable")]
    private static partial Regex DotNetTypeName();

    public static TheoryData<string, int, string> Lines => new()
    {
        // {a} {b}: models; {d}: data with labels 0..9; {o}: an output path
        { "match {d} -o {o} --alpha x", 2, "--alpha: 'x' is not a number" },
        { "collect {a} {b} --data {d} -o {o} --batch-size x", 2, "--batch-size: 'x' is not a whole number" },
        { "evaluate {a} --data {d} --task a=0-9 --head foo", 2, "--head: 'foo' is not one of logits|clip" },
        { "train resnet20 --data fashion-mnist:0-4 -o {o} --schedule x", 2, "is not one of onecycle" },
        { "collect --frobnicate {a} {b} --data {d} -o {o}", 2, "unknown option '--frobnicate'" },
        { "zip {a} {b} --matches {d} -o {o} -q", 2, "unknown option '-q'" },
        { "predict {a} -i {d} -o {o} --frob", 2, "unknown option '--frob'" },
        { "collect {a} --data {d} -o {o}", 2, "collect needs at least 2 models, got 1" },
        { "merge --models {a} {b} --data {d} -o {o} --reset-bn maybe", 2, "--reset-bn takes true or false, not 'maybe'" },
        { "train resnet20 --data fashion-mnist:0-4 -o {o} --embedding-dim 0", 2, "--embedding-dim must be at least 2" },
        { "train resnet20 --data fashion-mnist:0-4 -o {o} --image-size 0", 2, "--image-size" },
        { "evaluate {a} --data {d} --task b=5-15", 3, "a.safetensors outputs 10 classes (0-9), but --task b=5-15 names class 15" },
        { "init resnet20 -o {o} --seed x", 2, "--seed: 'x' is not a whole number" },
        { "train resnet20 --data fashion-mnist:test:0-4 -o {o}", 2, "train trains on the train split and validates on the part it holds out; drop ':test'" },
        { "train resnet20 --data {d} -o {o}", 2, "train reads a dataset spec or an image folder, not a tensor file" },
        { "init resnet20 --arch-set colour=red -o {o}", 2, "colour" },
        { "evaluate {a} --data {d} --task a=0-9 --arch-set width=3", 3, "--arch-set width=3: a.safetensors has width=1" },
    };

    [Theory]
    [MemberData(nameof(Lines))]
    public void A_bad_command_line_gets_its_exit_code_and_a_plain_message(string line, int exit, string fragment)
    {
        using var dir = new TempDirectory();
        var a = Model(dir, "a.safetensors", 1);
        var b = Model(dir, "b.safetensors", 2);
        var d = DataFile(dir, "d.safetensors", [10, 3, 32, 32]);
        var args = line.Split(' ').Select(t => t.Replace("{a}", a).Replace("{b}", b).Replace("{d}", d).Replace("{o}", dir.File("o.safetensors"))).ToArray();
        var result = Tool.Run(args);
        Assert.True(result.ExitCode == exit, result.ToString());
        Assert.Contains(fragment, result.Error);
        Assert.DoesNotMatch(DotNetTypeName(), result.Error);
        Assert.False(File.Exists(dir.File("o.safetensors")));
    }

    [Theory]
    [InlineData("The JSON value could not be converted to ZipIt.Engine.Merge.MergeRecipe. Path: $", "converted to a merge recipe")]
    [InlineData("expected type 'System.Nullable`1[System.Double]'", "expected type 'a number'")]
    [InlineData("value of System.Int32 and ZipIt.Engine.Evaluate.HeadKind", "value of a whole number and one of logits|clip")]
    public void Type_names_in_any_message_become_words(string message, string expected)
    {
        Assert.Contains(expected, PlainWords.WithoutTypeNames(message));
        Assert.DoesNotMatch(DotNetTypeName(), PlainWords.WithoutTypeNames(message));
    }
}
