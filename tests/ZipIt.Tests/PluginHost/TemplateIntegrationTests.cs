using System.Text.Json;

namespace ZipIt.Tests.PluginHost;

/// <summary>
/// <c>dotnet new zipit-architecture</c> and <c>dotnet new zipit-matcher</c> give projects that build
/// against the packed SDK, pass their own tests and load into the tool with <c>--plugins</c>.
/// </summary>
[Trait("Category", ZipIt.Tests.Infrastructure.Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class TemplateIntegrationTests(TemplatePackage templates) : IClassFixture<TemplatePackage>
{
    [Fact]
    public void The_architecture_template_builds_passes_its_conformance_tests_and_loads()
    {
        var folder = templates.New("zipit-architecture", "Acme.Plugin");
        Assert.Contains($"Include=\"ZipIt.Abstractions\" Version=\"$(ZipItVersion)\" ExcludeAssets=\"runtime;native\"", File.ReadAllText(Path.Combine(folder, "Acme.Plugin.csproj")));
        Assert.Contains($"<ZipItVersion>{templates.Version}</ZipItVersion>", File.ReadAllText(Path.Combine(folder, "Acme.Plugin.csproj")));

        // Testing builds the plugin too (a project reference), into its own bin/Release/net10.0.
        var tests = DotNet.RunOrFail(folder, "test", "Acme.Plugin.Tests", "-c", "Release", "-nodeReuse:false");
        Assert.Matches(@"Passed!\s+- Failed:\s+0, Passed:\s+4, Skipped:\s+0, Total:\s+4", tests);

        var output = Path.Combine(folder, "bin", "Release", "net10.0");
        AssertNoHostCopies(output, "Acme.Plugin.dll");
        var list = Tool.Run("plugins", "list", "--plugins", output, "--json");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Equal("", list.Error);
        var architecture = JsonDocument.Parse(list.Out).RootElement.GetProperty("architectures").EnumerateArray()
            .Single(a => a.GetProperty("name").GetString() == "tinyconv");
        Assert.Equal("Acme.Plugin", architecture.GetProperty("plugin").GetString());

        // The tool reads the generated plugin's graph, checked as on every load.
        var graph = Tool.Run("inspect", "--graph", "tinyconv", "--plugins", output);
        Assert.True(graph.ExitCode == 0, graph.ToString());
        Assert.Contains("inputs:       conv1.weight[1]", graph.Out);
    }

    [Fact]
    public void The_matcher_template_builds_passes_its_tests_and_loads()
    {
        var folder = templates.New("zipit-matcher", "Acme.Matcher");
        var tests = DotNet.RunOrFail(folder, "test", "Acme.Matcher.Tests", "-c", "Release", "-nodeReuse:false");
        Assert.Matches(@"Passed!\s+- Failed:\s+0, Passed:\s+2, Skipped:\s+0, Total:\s+2", tests);

        var output = Path.Combine(folder, "bin", "Release", "net10.0");
        AssertNoHostCopies(output, "Acme.Matcher.dll");
        var list = Tool.Run("plugins", "list", "--plugins", output, "--json");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Equal("", list.Error);
        var matcher = JsonDocument.Parse(list.Out).RootElement.GetProperty("matchers").EnumerateArray()
            .Single(m => m.GetProperty("name").GetString() == "greedy-align");
        Assert.Equal("Acme.Matcher", matcher.GetProperty("plugin").GetString());
    }

    /// <summary>The plugin folder holds the plugin, and neither TorchSharp, libtorch nor the contracts (the host's).</summary>
    private static void AssertNoHostCopies(string output, string dll)
    {
        var files = Directory.GetFiles(output, "*", SearchOption.AllDirectories).Select(Path.GetFileName).ToList();
        Assert.Contains(dll, files);
        Assert.DoesNotContain(files, f => f!.StartsWith("TorchSharp", StringComparison.Ordinal) || f.EndsWith(".so", StringComparison.Ordinal));
        Assert.DoesNotContain("ZipIt.Abstractions.dll", files);
    }
}
