using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Core;
using ZipIt.Engine.Output;
using static ZipIt.Tests.Reliability.ReliabilitySupport;

namespace ZipIt.Tests.Reliability;

/// <summary>No command replaces one of its inputs with its output.</summary>
[Trait("Category", ZipIt.Tests.Infrastructure.Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class OutputGuardTests
{
    public static TheoryData<string, string> Overlaps => new()
    {
        // command line ({a}, {b}: models; {d}: data; {x}: a predict input), the options the message names
        { "collect {a} {b} --data {d} -o {d}", "--output|--data" },
        { "collect {a} {b} --data {d} -o {b}", "--output|MODEL" },
        { "predict {a} -i {x} -o {x}", "--output|--input" },
        { "predict {a} -i {x} -o ./{a}", "--output|CHECKPOINT" },
        { "zip {a} {b} --matches {d} -o {a}", "--output|MODEL" },
        { "reset-bn {a} --data {d} -o {a}", "--output|MODEL" },
        { "reset-bn {a} --data {d} --in-place -o {b}", "--output|--in-place" },
        { "evaluate {a} --data {d} --task a=0-9 -o {d}", "--output|--data" },
        { "evaluate {a} --data {d} --task a=0-9 --markdown {link}", "--markdown|MODEL" },
        { "evaluate {a} --data {d} --task a=0-9 -o r.json --markdown r.json", "--markdown|--output" },
        { "match {d} -o {d}", "--output|METRICS" },
    };

    [Theory]
    [MemberData(nameof(Overlaps))]
    public void An_output_that_is_an_input_is_refused_with_exit_2_before_anything_runs(string line, string options)
    {
        using var dir = new TempDirectory();
        var a = Model(dir, "a.safetensors", 1);
        var b = Model(dir, "b.safetensors", 2);
        var d = DataFile(dir, "d.safetensors", [4, 3, 32, 32]);
        var x = dir.File("x.safetensors");
        using (var t = TorchSharp.torch.zeros(2, 3, 32, 32)) CheckpointWriter.WriteFile(x, [new("input", t)]);
        File.CreateSymbolicLink(dir.File("link.safetensors"), a);
        var before = dir.Names().ToDictionary(n => n, n => File.ReadAllBytes(dir.File(n)));
        var args = line.Split(' ').Select(t => t
            .Replace("{a}", "a.safetensors").Replace("{b}", "b.safetensors").Replace("{d}", "d.safetensors")
            .Replace("{x}", "x.safetensors").Replace("{link}", "link.safetensors")).ToArray();
        var cwd = Environment.CurrentDirectory;
        CliResult result;
        try
        {
            Environment.CurrentDirectory = dir.Path;
            result = Tool.Run(args);
        }
        finally
        {
            Environment.CurrentDirectory = cwd;
        }
        Assert.True(result.ExitCode == 2, result.ToString());
        foreach (var option in options.Split('|')) Assert.Contains(option, result.Error);
        Assert.Equal(before.Keys.Order(), dir.Names());
        foreach (var (name, bytes) in before) Assert.Equal(bytes, File.ReadAllBytes(dir.File(name)));
    }

    [Fact]
    public void Reset_bn_in_place_updates_the_model_atomically()
    {
        using var dir = new TempDirectory();
        var a = Model(dir, "a.safetensors", 1);
        var copy = dir.File("copy.safetensors");
        File.Copy(a, copy);
        var d = DataFile(dir, "d.safetensors", [8, 3, 32, 32]);
        var viaOutput = Tool.Run("reset-bn", copy, "--data", d, "-o", dir.File("out.safetensors"));
        Assert.True(viaOutput.ExitCode == 0, viaOutput.ToString());
        var inPlace = Tool.Run("reset-bn", a, "--data", d, "--in-place");
        Assert.True(inPlace.ExitCode == 0, inPlace.ToString());
        Assert.Equal(File.ReadAllBytes(dir.File("out.safetensors")), File.ReadAllBytes(a));
        Assert.Equal(["a.safetensors", "copy.safetensors", "d.safetensors", "out.safetensors"], dir.Names());
        var neither = Tool.Run("reset-bn", a, "--data", d);
        Assert.True(neither.ExitCode == 2 && neither.Error.Contains("--in-place"), neither.ToString());
    }

    [Fact]
    public void An_unwritable_output_folder_is_exit_5_naming_the_option()
    {
        using var dir = new TempDirectory();
        var missing = Assert.Throws<ZipItException>(() => OutputGuard.RequireWritable("--output", dir.File("no/such/out.safetensors")));
        Assert.Equal(ExitCode.Resource, missing.Code);
        Assert.Contains("--output", missing.Message);
        var folder = Assert.Throws<ZipItException>(() => OutputGuard.RequireWritable("--output", dir.Path));
        Assert.Equal(ExitCode.Usage, folder.Code);
        OutputGuard.RequireWritable("--output", dir.File("fine.safetensors"));
        Assert.Empty(dir.Names());
    }
}
