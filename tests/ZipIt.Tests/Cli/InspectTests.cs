using System.Text.Json;
using Snapshooter;
using Snapshooter.Xunit;
using ZipIt.Engine.Core;

namespace ZipIt.Tests.Cli;

public sealed class InspectTests
{
    /// <summary>
    /// Every safetensors fixture (folder, file), listed rather than enumerated: a fixture added later
    /// must not fail strict-mode CI for want of a snapshot.
    /// </summary>
    public static TheoryData<string, string> Fixtures() => new()
    {
        { "parity", "resnet20x2_cifar.safetensors" },
        { "parity", "resnet20x2_cifar.io.safetensors" },
        { "parity", "torchvision_bottleneck_1111.safetensors" },
        { "parity", "torchvision_bottleneck_1111.io.safetensors" },
        { "parity", "timm_vit_p4_d96_h3_l3.safetensors" },
        { "parity", "timm_vit_p4_d96_h3_l3.io.safetensors" },
        { "parity", "timm_vit_p4_d64_h4_l2_ls_avg.safetensors" },
        { "parity", "timm_vit_p4_d64_h2_l2_nocls.safetensors" },
        { "matching", "case00_n8_a0.5_b0.5.safetensors" },
        { "matching", "case01_n16_a0.3_b0.125.safetensors" },
        { "matching", "case02_n16_a0.0_b0.5.safetensors" },
        { "matching", "case03_n32_a0.5_b0.0.safetensors" },
        { "matching", "case04_n32_a0.5_b1.0.safetensors" },
        { "matching", "case05_n64_a0.3_b0.125.safetensors" },
        { "matching", "case07_n128_a0.5_b0.5.safetensors" },
    };

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Inspect_text_has_not_changed(string folder, string fixture)
    {
        var result = Tool.Run("inspect", Repository.Fixture(folder, fixture));
        Assert.True(result.ExitCode == 0, result.ToString());
        Snapshot.Match(Scrub.Text(result.Out), SnapshotNameExtension.Create(fixture));
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Inspect_json_has_not_changed(string folder, string fixture)
    {
        var result = Tool.Run("inspect", Repository.Fixture(folder, fixture), "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        using var _ = JsonDocument.Parse(result.Out);
        Snapshot.Match(Scrub.Text(result.Out), SnapshotNameExtension.Create(fixture));
    }

    [Fact]
    public void Inspect_recognises_the_resnet_fixtures_and_counts_parameters()
    {
        var cifar = JsonDocument.Parse(Tool.Run("inspect", Repository.Fixture("parity", "resnet20x2_cifar.safetensors"), "--json").Out).RootElement;
        var arch = cifar.GetProperty("architecture");
        Assert.Equal("resnet20", arch.GetProperty("variant").GetString());
        Assert.Equal("2", arch.GetProperty("settings").GetProperty("width").GetString());
        Assert.True(arch.GetProperty("matches").GetBoolean());
        Assert.Equal(12, arch.GetProperty("mergePoints").GetArrayLength());
        // Counted by hand from the layer shapes (and from the file size less running stats and header).
        Assert.Equal(1_166_506L, arch.GetProperty("parameters").GetInt64());

        var bottleneck = JsonDocument.Parse(Tool.Run("inspect", Repository.Fixture("parity", "torchvision_bottleneck_1111.safetensors"), "--json").Out).RootElement;
        Assert.Equal("1,1,1,1", bottleneck.GetProperty("architecture").GetProperty("settings").GetProperty("blocks").GetString());
    }

    [Fact]
    public void Inspect_with_the_wrong_variant_exits_3()
    {
        var result = Tool.Run("inspect", Repository.Fixture("parity", "resnet20x2_cifar.safetensors"), "--arch", "resnet56");
        Assert.Equal(3, result.ExitCode);
        ExitCodeTests.AssertOneErrorLine(result, "not 'resnet56'");
    }
}
