using System.Text.Json;
using Snapshooter.Xunit;
using ZipIt.Engine.Core;

namespace ZipIt.Tests.PluginHost;

/// <summary>Plugins load from the tool's folder and from --plugins; a bad plugin costs one line and nothing else.</summary>
public sealed class PluginLoadingTests
{
    private static string BuiltInFolder => Path.Combine(AppContext.BaseDirectory, "plugins");
    private static string TestPlugins => Path.Combine(AppContext.BaseDirectory, "test-plugins");

    [Fact]
    public void The_builtin_resnet_plugin_is_listed()
    {
        var result = Tool.Run("plugins", "list", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        var json = JsonDocument.Parse(result.Out).RootElement;
        var resnet = json.GetProperty("architectures").EnumerateArray().Single(a => a.GetProperty("name").GetString() == "resnet");
        Assert.Equal("ZipIt.Plugins.ResNet", resnet.GetProperty("plugin").GetString());
        Assert.Contains(resnet.GetProperty("variants").EnumerateArray(), v => v.GetProperty("name").GetString() == "resnet50");
        var plugin = json.GetProperty("plugins").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "ZipIt.Plugins.ResNet");
        Assert.Equal("built-in", plugin.GetProperty("source").GetString());
        Assert.Equal(0, json.GetProperty("problems").GetArrayLength());
        Assert.Equal(["zipit", "permute", "average", "mudsc"], json.GetProperty("matchers").EnumerateArray().Select(m => m.GetProperty("name").GetString()));
        // Presets are listed with their labels and settings; built-in matchers have none.
        var mudsc = json.GetProperty("matchers").EnumerateArray().Single(m => m.GetProperty("name").GetString() == "mudsc");
        Assert.Equal(["zip:MuDSC-zip:mode=zip", "align:MuDSC-align:mode=align"], mudsc.GetProperty("presets").EnumerateArray().Select(p =>
            $"{p.GetProperty("name").GetString()}:{p.GetProperty("label").GetString()}:mode={p.GetProperty("settings").GetProperty("mode").GetString()}"));
        var zipit = json.GetProperty("matchers").EnumerateArray().Single(m => m.GetProperty("name").GetString() == "zipit");
        Assert.Equal(0, zipit.GetProperty("presets").GetArrayLength());
    }

    [Fact]
    public void Plugins_list_text_has_not_changed()
    {
        var result = Tool.Run("plugins", "list");
        Assert.True(result.ExitCode == 0, result.ToString());
        Snapshot.Match(Scrub.Text(result.Out));
    }

    [Fact]
    public void A_file_that_is_not_an_assembly_is_reported_in_one_line_and_the_others_keep_working()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(Path.Combine(dir.Path, "Garbage"));
        File.WriteAllBytes(Path.Combine(dir.Path, "Garbage", "Garbage.dll"), [1, 2, 3, 4, 5, 6, 7, 8]);
        var result = Tool.Run("plugins", "list", "--plugins", dir.Path, "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        var warning = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("warning: plugin 'Garbage'", warning);
        Assert.Contains("not a .NET assembly", warning);
        var json = JsonDocument.Parse(result.Out).RootElement;
        Assert.Contains(json.GetProperty("architectures").EnumerateArray(), a => a.GetProperty("name").GetString() == "resnet");
    }

    [Fact]
    public void A_plugin_that_throws_while_registering_is_reported_in_one_line_and_the_others_keep_working()
    {
        var result = Tool.Run("plugins", "list", "--plugins", TestPlugins);
        Assert.True(result.ExitCode == 0, result.ToString());
        var warning = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("plugin 'ZipIt.Tests.ThrowingPlugin'", warning);
        Assert.Contains("failed while registering: InvalidOperationException: this test plugin always fails to register", warning);
        Assert.Contains("resnet", result.Out);
        Assert.Contains("not loaded:", result.Out);
    }

    [Fact]
    public void A_plugin_is_loaded_once_even_when_found_twice()
    {
        var result = Tool.Run(new Dictionary<string, string?> { ["PLUGIN_PATH"] = BuiltInFolder }, "plugins", "list", "--plugins", BuiltInFolder, "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        var json = JsonDocument.Parse(result.Out).RootElement;
        Assert.Equal(["dotnet-zipit", "ZipIt.Plugins.MuDsc", "ZipIt.Plugins.ResNet", "ZipIt.Plugins.Vit"], json.GetProperty("plugins").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        Assert.Equal("", result.Error);
    }

    [Fact]
    public void Builtin_plugin_folders_carry_no_torchsharp_libtorch_or_contract_copies()
    {
        var files = Directory.GetFiles(BuiltInFolder, "*", SearchOption.AllDirectories).Select(Path.GetFileName).ToList();
        Assert.Contains("ZipIt.Plugins.ResNet.dll", files);
        Assert.DoesNotContain(files, f => f!.StartsWith("TorchSharp", StringComparison.Ordinal));
        Assert.DoesNotContain(files, f => f!.EndsWith(".so", StringComparison.Ordinal));
        Assert.DoesNotContain("ZipIt.Abstractions.dll", files);
    }
}
