using System.Text.Json;
using Xunit.Abstractions;

namespace ZipIt.Tests.Vit;

/// <summary>Forward-pass parity with timm's VisionTransformer (eval mode), through <c>predict --compare</c> with no <c>--arch</c>.</summary>
public class VitParityTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("timm_vit_p4_d96_h3_l3", "vit_pico_patch4_32")]
    [InlineData("timm_vit_p4_d64_h4_l2_ls_avg", "vit-custom")]
    [InlineData("timm_vit_p4_d64_h2_l2_nocls", "vit-custom")]
    public void Predict_matches_timm(string name, string variant)
    {
        using var dir = new TempDirectory();
        var io = Repository.Fixture("parity", name + ".io.safetensors");
        var result = Tool.Run("predict", Repository.Fixture("parity", name + ".safetensors"), "-i", io, "-o", dir.File("out.safetensors"), "--compare", io, "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        var json = JsonDocument.Parse(result.Out).RootElement;
        var error = json.GetProperty("maxAbsDifference").GetDouble();
        output.WriteLine($"{name}: {json.GetProperty("model").GetString()}: max |out - output| = {error:E3}");
        Assert.StartsWith($"vit/{variant} ", json.GetProperty("model").GetString());
        Assert.True(error <= 1e-4, $"{name}: max abs error {error:E3} > 1e-4");
    }
}
