using TorchSharp;
using ZipIt.Engine.Checkpoints;
using static TorchSharp.torch;
using static ZipIt.Tests.Reliability.ReliabilitySupport;

namespace ZipIt.Tests.Reliability;

/// <summary>Inputs that used to give a silent wrong answer give an error or a warning instead.</summary>
[Trait("Category", ZipIt.Tests.Infrastructure.Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class WrongAnswerTests
{
    private static string Rewrite(TempDirectory dir, string source, string name, Action<Dictionary<string, Tensor>, Dictionary<string, string>> change)
    {
        using var file = Checkpoint.Open(source);
        var tensors = file.Entries.ToDictionary(e => e.Name, e => file.Read(e.Name));
        var metadata = new Dictionary<string, string>(file.Metadata);
        change(tensors, metadata);
        var path = dir.File(name);
        CheckpointWriter.WriteFile(path, tensors, metadata);
        foreach (var t in tensors.Values) t.Dispose();
        return path;
    }

    [Theory]
    [InlineData("evaluate {m} --data {d} --task a=0-9")]
    [InlineData("predict {m} -i {x} -o {o}")]
    [InlineData("reset-bn {m} --data {d} -o {o}")]
    public void A_model_with_a_nan_weight_is_exit_3_naming_the_tensor(string line)
    {
        using var dir = new TempDirectory();
        var a = Model(dir, "a.safetensors", 1);
        var nan = Rewrite(dir, a, "nan.safetensors", (t, _) => t["layer2.0.conv1.weight"][0, 0, 0, 0] = float.NaN);
        var d = DataFile(dir, "d.safetensors", [4, 3, 32, 32]);
        var x = dir.File("x.safetensors");
        using (var t = torch.zeros(2, 3, 32, 32)) CheckpointWriter.WriteFile(x, [new("input", t)]);
        var args = line.Replace("{m}", nan).Replace("{d}", d).Replace("{x}", x).Replace("{o}", dir.File("out.safetensors")).Split(' ');
        var result = Tool.Run(args);
        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Contains("layer2.0.conv1.weight", result.Error);
        Assert.False(File.Exists(dir.File("out.safetensors")));
    }

    [Fact]
    public void Metadata_naming_another_variant_than_the_tensors_is_exit_3()
    {
        using var dir = new TempDirectory();
        var a = Model(dir, "a.safetensors", 1);
        var wrong = Rewrite(dir, a, "wrong.safetensors", (_, m) => m["zipit.variant"] = "resnet56");
        var result = Tool.Run("inspect", wrong);
        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Contains("resnet56", result.Error);
        Assert.Contains("resnet20", result.Error);
        Assert.Equal(0, Tool.Run("inspect", a).ExitCode);
    }

    [Fact]
    public void A_partial_zip_as_a_model_to_merge_is_exit_3_and_labels_outside_every_task_warn()
    {
        using var dir = new TempDirectory();
        var a = Model(dir, "a.safetensors", 1);
        var b = Model(dir, "b.safetensors", 2);
        var d = DataFile(dir, "d.safetensors", [8, 3, 32, 32]);
        Assert.Equal(0, Tool.Run("collect", a, b, "--data", d, "-o", dir.File("m.safetensors")).ExitCode);
        Assert.Equal(0, Tool.Run("match", dir.File("m.safetensors"), "-o", dir.File("x.safetensors")).ExitCode);
        var zipped = Tool.Run("zip", a, b, "--matches", dir.File("x.safetensors"), "--stop", "7", "-o", dir.File("p.safetensors"));
        Assert.True(zipped.ExitCode == 0, zipped.ToString());

        foreach (var args in new[]
        {
            new[] { "zip", dir.File("p.safetensors"), b, "--matches", dir.File("x.safetensors"), "-o", dir.File("z.safetensors") },
            ["collect", dir.File("p.safetensors"), b, "--data", d, "-o", dir.File("z.safetensors")],
        })
        {
            var result = Tool.Run(args);
            Assert.True(result.ExitCode == 3, result.ToString());
            Assert.Contains("p.safetensors is a partial zip with 2 heads; merge its source models instead", result.Error);
            Assert.False(File.Exists(dir.File("z.safetensors")));
        }

        // 8 images labelled 0..7: tasks over 0-1 and 2-3 leave 4 out.
        var evaluated = Tool.Run("evaluate", dir.File("p.safetensors"), "--data", d, "--task", "a=0-1", "--task", "b=2-3");
        Assert.True(evaluated.ExitCode == 0, evaluated.ToString());
        Assert.Contains("4 of 8 images have labels outside every --task", evaluated.Error);
        var none = Tool.Run("evaluate", a, "--data", d, "--task", "a=20-29");
        Assert.True(none.ExitCode == 3 && none.Error.Contains("no label"), none.ToString());
    }

    [Fact]
    public void Reset_bn_on_a_groupnorm_model_warns_and_writes_the_model_unchanged()
    {
        using var dir = new TempDirectory();
        var gn = Model(dir, "gn.safetensors", 1, "norm=gn");
        var d = DataFile(dir, "d.safetensors", [4, 3, 32, 32]);
        var result = Tool.Run("reset-bn", gn, "--data", d, "-o", dir.File("out.safetensors"));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("has no BatchNorm layers; nothing to reset", result.Error);
        Assert.Single(result.Error.Trim().Split('\n'));
        using var before = Checkpoint.Open(gn);
        using var after = Checkpoint.Open(dir.File("out.safetensors"));
        foreach (var e in before.Entries)
        {
            using var x = before.Read(e.Name);
            using var y = after.Read(e.Name);
            Assert.True(x.eq(y).all().item<bool>(), e.Name);
        }
    }
}
