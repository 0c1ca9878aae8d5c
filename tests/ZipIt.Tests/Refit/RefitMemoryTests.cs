using System.Globalization;
using System.Text.RegularExpressions;
using ZipIt.Engine.Refit;
using ZipIt.Tests.ResNet;
using static ZipIt.Tests.Refit.RefitTestSupport;
using static ZipIt.Tests.Reliability.ReliabilitySupport;

namespace ZipIt.Tests.Refit;

/// <summary>
/// A refit's memory is part of the merge's estimate before any work: its moments (every layer's at
/// once for teacher-forced inputs, one layer's for the sequential variant), one batch's captures and
/// a chunk of rows; a merge with a refit over the limit is refused (exit 5) naming the refit.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class RefitMemoryTests
{
    [Fact]
    public void The_estimate_holds_every_layers_moments_for_teacher_forced_inputs_and_one_layers_for_sequential()
    {
        var architecture = ResNetTestUtil.Architecture;
        var config = architecture.Configure("resnet20");
        using var model = Model(architecture, config, "a.safetensors");
        var plan = RefitPlan.For(model.Model, model.Graph, null);
        var moments = plan.Layers.Select(l => LayerMoments.BytesFor(l.Features, l.OutChannels)).ToList();

        var teacher = RefitMemory.Bytes(model.Model, model.Device, model.Graph, null, [3, 32, 32], 10, RefitVariant.Teacher);
        var sequential = RefitMemory.Bytes(model.Model, model.Device, model.Graph, null, [3, 32, 32], 10, RefitVariant.Sequential);
        Assert.True(teacher >= moments.Sum() + RefitMemory.ChunkBytes, $"{teacher} < {moments.Sum()} + a chunk");
        Assert.True(sequential >= moments.Max() + RefitMemory.ChunkBytes);
        Assert.True(sequential < teacher);
        // Captures grow with the batch: the first stage's 16-channel maps at 32×32, inputs and outputs, float32.
        var larger = RefitMemory.Bytes(model.Model, model.Device, model.Graph, null, [3, 32, 32], 20, RefitVariant.Teacher);
        Assert.True(larger - teacher >= 10L * 4 * 2 * 16 * 32 * 32, $"{larger} - {teacher}");
    }

    [Fact]
    [Trait("Category", ZipIt.Tests.Infrastructure.Tier.Integration)]
    public void A_merge_with_a_refit_estimates_more_and_is_refused_over_the_limit_naming_the_refit()
    {
        using var dir = new TempDirectory();
        var a = ZipIt.Tests.Reliability.ReliabilitySupport.Model(dir, "a.safetensors", 1);
        var b = ZipIt.Tests.Reliability.ReliabilitySupport.Model(dir, "b.safetensors", 2);
        var d = DataFile(dir, "d.safetensors", [8, 3, 32, 32]);
        var plain = Tool.Run("merge", "--models", a, b, "--data", d, "-o", dir.File("out.safetensors"), "--max-memory", "1MB");
        var refit = Tool.Run("merge", "--models", a, b, "--data", d, "-o", dir.File("out.safetensors"), "--max-memory", "1MB", "--refit", "teacher");
        Assert.True(refit.ExitCode == 5, refit.ToString());
        Assert.Contains("with a refit needs about", refit.Error);
        Assert.True(Estimate(refit.Error) > Estimate(plain.Error), $"{refit.Error} / {plain.Error}");
        Assert.DoesNotContain(Directory.GetFiles(dir.Path), f => Path.GetFileName(f).StartsWith("out", StringComparison.Ordinal));
    }

    private static double Estimate(string error)
    {
        var m = Regex.Match(error, @"needs about ([0-9.]+) (B|KiB|MiB|GiB)");
        Assert.True(m.Success, error);
        var scale = m.Groups[2].Value switch { "KiB" => 1024.0, "MiB" => 1024.0 * 1024, "GiB" => 1024.0 * 1024 * 1024, _ => 1.0 };
        return double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) * scale;
    }
}
