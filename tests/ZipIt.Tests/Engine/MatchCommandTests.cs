using ZipIt.Tests.Infrastructure;
using ZipIt.Engine.Checkpoints;
using ZipIt.Tests.Cli;
using ZipIt.Engine.Core;

namespace ZipIt.Tests.Engine;

[Trait("Category", Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class MatchCommandTests
{
    public static TheoryData<string> Cases() => new()
    {
        "case00_n8_a0.5_b0.5.safetensors",
        "case03_n32_a0.5_b0.0.safetensors",
        "case05_n64_a0.3_b0.125.safetensors",
    };

    /// <summary>A file holding only P.covariance tensors (covariance computed anywhere) is matched, and reproduces the reference.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void A_bare_covariance_file_is_matched_exactly_as_the_reference_does(string fixture)
    {
        using var dir = new TempDirectory();
        using var reference = Checkpoint.Open(Repository.Fixture("matching", fixture));
        var bare = dir.File("bare.safetensors");
        CheckpointWriter.WriteFile(bare, [new("point.covariance", reference.Read("covariance"))]); // no metadata: models defaults to 2
        var alpha = reference.Metadata["alpha"];
        var beta = reference.Metadata["beta"];

        foreach (var (matcher, extra) in new[] { ("zipit", new[] { "--alpha", alpha, "--beta", beta }), ("permute", Array.Empty<string>()) })
        {
            var matches = dir.File(matcher + ".safetensors");
            var result = Tool.Run(["match", bare, "-o", matches, "--matcher", matcher, .. extra]);
            Assert.True(result.ExitCode == 0, result.ToString());
            using var file = Checkpoint.Open(matches);
            Assert.True(file.Read("point.unmerge").Equals(reference.Read($"{matcher}_unmerge")), $"{matcher} unmerge differs");
            Assert.True(file.Read("point.merge").allclose(reference.Read($"{matcher}_merge"), rtol: 0, atol: 1e-5), $"{matcher} merge differs");
        }
    }

    [Fact]
    public void Bad_statistics_and_settings_exit_with_one_line()
    {
        using var dir = new TempDirectory();
        var bare = dir.File("bare.safetensors");
        CheckpointWriter.WriteFile(bare, [new("p.covariance", TorchSharp.torch.ones(5, 5))]);
        var odd = Tool.Run("match", bare, "-o", dir.File("m.safetensors"));
        Assert.Equal(3, odd.ExitCode);
        ExitCodeTests.AssertOneErrorLine(odd, "square [N·C, N·C] with N = 2");

        CheckpointWriter.WriteFile(bare, [new("p.covariance", TorchSharp.torch.eye(4))]);
        var unknown = Tool.Run("match", bare, "-o", dir.File("m.safetensors"), "--matcher", "average", "--alpha", "0.3");
        Assert.Equal(2, unknown.ExitCode);
        ExitCodeTests.AssertOneErrorLine(unknown, "unknown matcher setting 'alpha'");
        var missing = Tool.Run("match", bare, "-o", dir.File("m.safetensors"), "--matcher", "no-such-matcher");
        Assert.Equal(4, missing.ExitCode);
        ExitCodeTests.AssertOneErrorLine(missing, "no matcher 'no-such-matcher'");
        Assert.Equal(["bare.safetensors"], dir.Names());
    }
}
