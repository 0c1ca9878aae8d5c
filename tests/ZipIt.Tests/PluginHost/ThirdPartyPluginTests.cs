using ZipIt.Tests.Infrastructure;
using System.Runtime.Loader;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Plugins;
using static TorchSharp.torch;
using ZipIt.Engine.Core;

namespace ZipIt.Tests.PluginHost;

/// <summary>A plugin built outside the solution, against the packed ZipIt.Abstractions only, works like a built-in one.</summary>
[Trait("Category", Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class ThirdPartyPluginTests(SamplePluginBuild sample) : IClassFixture<SamplePluginBuild>
{
    [Fact]
    public void The_sample_plugin_loads_from_plugins_and_its_architecture_is_listed()
    {
        var result = Tool.Run("plugins", "list", "--plugins", sample.PluginFolder, "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("", result.Error);
        var json = JsonDocument.Parse(result.Out).RootElement;
        var mlp = json.GetProperty("architectures").EnumerateArray().Single(a => a.GetProperty("name").GetString() == "mlp");
        Assert.Equal("MlpPlugin", mlp.GetProperty("plugin").GetString());
        var plugin = json.GetProperty("plugins").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "MlpPlugin");
        Assert.Equal("command-line", plugin.GetProperty("source").GetString());
        Assert.Contains(json.GetProperty("architectures").EnumerateArray(), a => a.GetProperty("name").GetString() == "resnet");
    }

    [Fact]
    [Trait("Category", "Integration")]
    public void The_sample_plugins_own_tests_pass_on_the_packed_conformance_checks()
    {
        var (code, output) = sample.RunSampleTests();
        Assert.True(code == 0, $"dotnet test of the sample's tests failed ({code}):\n{output}");
        // Every test ran (none skipped or filtered away): three configurations and two single checks.
        Assert.Matches(@"Passed!\s+- Failed:\s+0, Passed:\s+5, Skipped:\s+0, Total:\s+5", output);
    }

    [Fact]
    public void Reproduce_runs_on_the_sample_plugins_architecture_by_its_declared_protocol()
    {
        using var dir = new TempDirectory();
        var output = dir.File("out");
        var result = Tool.Run("reproduce", "fmnist-5+5", "--plugins", sample.PluginFolder, "--arch", "mlp", "--cache", dir.File("cache"), "-o", output,
            "--epochs", "1", "--train-images", "200", "--calibration", "100", "--validation-images", "100", "--test-images", "200",
            "--alphas", "0.5", "--betas", "0.5", "--pairs", "1", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "report.json"))).RootElement;
        // The protocol's variant and settings (the output width set by the host), its stop points from the MLP's graph.
        Assert.Equal("mlp", report.GetProperty("options").GetProperty("variant").GetString());
        Assert.Equal([2, 1], report.GetProperty("options").GetProperty("stops").EnumerateArray().Select(e => e.GetInt32()));
        var labels = report.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("label").GetString()).ToList();
        Assert.Equal(["Model A", "Model B", "W.Avg", "Permute", "ZipIt!3/3", "MuDSC-zip", "MuDSC-align", "Ensemble", "ZipIt!2/3", "ZipIt!1/3"], labels);
        // An MLP ties no grouped points: no comparison row is shown.
        Assert.DoesNotContain(labels, l => l!.Contains("untied"));
    }

    [Fact]
    public void Reproduce_refuses_an_architecture_without_a_protocol_in_one_line()
    {
        using var dir = new TempDirectory();
        var result = Tool.Run("reproduce", "fmnist-5+5", "--arch", "nonesuch", "-o", dir.File("out"));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--arch nonesuch: no installed architecture has that name", result.Error);
        Assert.False(Directory.Exists(dir.File("out")));
    }

    [Fact]
    public void The_sample_plugin_output_carries_no_torchsharp_libtorch_or_contract_copies()
    {
        var files = Directory.GetFiles(sample.PluginFolder, "*", SearchOption.AllDirectories).Select(Path.GetFileName).ToList();
        Assert.Contains("MlpPlugin.dll", files);
        Assert.DoesNotContain(files, f => f!.StartsWith("TorchSharp", StringComparison.Ordinal) || f.EndsWith(".so", StringComparison.Ordinal));
        Assert.DoesNotContain("ZipIt.Abstractions.dll", files);
    }

    [Fact]
    public void Torch_and_contract_types_are_the_hosts()
    {
        var catalog = ZipIt.Engine.Plugins.PluginHost.Load(
            new PluginSearchPath(Path.Combine(AppContext.BaseDirectory, "plugins"), [sample.PluginFolder], [], "/nonexistent"), NullLogger.Instance, new ZipIt.Engine.Matching.BuiltInMatchers());
        var arch = catalog.Architecture("mlp")!;
        Assert.NotSame(AssemblyLoadContext.Default, AssemblyLoadContext.GetLoadContext(arch.GetType().Assembly));
        using var model = arch.Create(arch.Configure("mlp", new Dictionary<string, string> { ["sizes"] = "6,5,4" }));
        // The plugin's module is a host TorchSharp module: tensors pass both ways without conversion.
        Assert.IsAssignableFrom<nn.Module<Tensor, Tensor>>(model);
        Assert.Same(typeof(torch).Assembly, model.parameters().First().GetType().Assembly);
        using var y = model.call(torch.ones(2, 6));
        Assert.Equal([2L, 4L], y.shape);
    }

    [Fact]
    public void A_model_of_the_plugin_architecture_can_be_inspected_and_run()
    {
        using var dir = new TempDirectory();
        var catalog = ZipIt.Engine.Plugins.PluginHost.Load(
            new PluginSearchPath("/nonexistent", [sample.PluginFolder], [], "/nonexistent"), NullLogger.Instance, new ZipIt.Engine.Matching.BuiltInMatchers());
        var arch = catalog.Architecture("mlp")!;
        using var model = arch.Create(arch.Configure("mlp", new Dictionary<string, string> { ["sizes"] = "12,16,8,3" }));
        model.eval();
        var checkpoint = dir.File("mlp.safetensors");
        CheckpointWriter.WriteFile(checkpoint, model.state_dict());
        using var x = torch.randn(5, 12, generator: new Generator(7));
        CheckpointWriter.WriteFile(dir.File("in.safetensors"), [new("input", x)]);

        var inspect = Tool.Run("inspect", checkpoint, "--plugins", sample.PluginFolder);
        Assert.True(inspect.ExitCode == 0, inspect.ToString());
        Assert.Contains("architecture: mlp/mlp (bias=true, sizes=12,16,8,3) [MlpPlugin", inspect.Out);
        Assert.Contains("merge points: 2", inspect.Out);

        var predict = Tool.Run("predict", checkpoint, "-i", dir.File("in.safetensors"), "-o", dir.File("out.safetensors"), "--plugins", sample.PluginFolder);
        Assert.True(predict.ExitCode == 0, predict.ToString());
        using var output = Checkpoint.Open(dir.File("out.safetensors"));
        using var got = output.Read("output");
        using var _ = torch.no_grad();
        using var want = model.call(x);
        Assert.True(want.allclose(got, rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void The_environment_path_and_the_user_folder_are_searched()
    {
        var fromEnv = Tool.Run(new Dictionary<string, string?> { ["PLUGIN_PATH"] = sample.PluginFolder }, "plugins", "list", "--json");
        Assert.Contains(JsonDocument.Parse(fromEnv.Out).RootElement.GetProperty("plugins").EnumerateArray(),
            p => p.GetProperty("name").GetString() == "MlpPlugin" && p.GetProperty("source").GetString() == "environment");

        using var home = new TempDirectory();
        var userPlugin = Path.Combine(home.Path, "plugins", "MlpPlugin");
        Directory.CreateDirectory(userPlugin);
        foreach (var file in Directory.GetFiles(sample.PluginFolder)) File.Copy(file, Path.Combine(userPlugin, Path.GetFileName(file)));
        var fromUser = Tool.Run(new Dictionary<string, string?> { ["HOME"] = home.Path }, "plugins", "list", "--json");
        Assert.Contains(JsonDocument.Parse(fromUser.Out).RootElement.GetProperty("plugins").EnumerateArray(),
            p => p.GetProperty("name").GetString() == "MlpPlugin" && p.GetProperty("source").GetString() == "user");
    }

    [Fact]
    public void A_plugin_built_against_a_newer_contract_is_refused_in_one_line()
    {
        var result = Tool.Run("plugins", "list", "--plugins", sample.NewerPluginFolder, "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        var warning = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("plugin 'MlpPlugin'", warning);
        Assert.Contains("built against ZipIt.Abstractions 99.0.0.0, newer than this zipit's 0.1.0.0", warning);
        var json = JsonDocument.Parse(result.Out).RootElement;
        Assert.DoesNotContain(json.GetProperty("architectures").EnumerateArray(), a => a.GetProperty("name").GetString() == "mlp");
        Assert.Contains(json.GetProperty("architectures").EnumerateArray(), a => a.GetProperty("name").GetString() == "resnet");
    }
}
