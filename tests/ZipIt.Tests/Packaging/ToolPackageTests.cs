using ZipIt.Tests.Infrastructure;
using System.IO.Compression;
using System.Text.Json;
using ZipIt.Engine.Core;

namespace ZipIt.Tests.Packaging;

/// <summary>
/// Packs the tool as a user's machine would get it and installs it into an empty folder, as a local
/// tool and into a tool path (what <c>-g</c> does, without touching the developer's global tools),
/// then runs it. The install uses a private NuGet package folder, deleted afterwards, so no stale
/// or 700 MB copy stays behind.
/// </summary>
[Trait("Category", Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class ToolPackageTests
{
    [Fact]
    public void The_packed_tool_installs_into_an_empty_folder_and_runs_offline()
    {
        using var work = new TempDirectory("zipit-pack");
        var suffix = "test" + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff");
        var version = "0.1.0-" + suffix;
        var feed = Path.Combine(work.Path, "feed");
        DotNet.RunOrFail(Repository.Root, "pack", Path.Combine(Repository.Root, "src", "ZipIt.Tool", "ZipIt.Tool.csproj"),
            "-c", "Release", "-o", feed, "-nodeReuse:false", "--artifacts-path", Path.Combine(work.Path, "artifacts"), $"-p:VersionSuffix={suffix}");

        var packages = Directory.GetFiles(feed, "*.nupkg").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal([$"dotnet-zipit.{version}.nupkg", $"dotnet-zipit.linux-x64.{version}.nupkg"], packages);
        using (var zip = ZipFile.OpenRead(Path.Combine(feed, $"dotnet-zipit.linux-x64.{version}.nupkg")))
        {
            var names = zip.Entries.Select(e => e.FullName).ToList();
            Assert.Contains(names, n => n.EndsWith("plugins/ZipIt.Plugins.ResNet/ZipIt.Plugins.ResNet.dll", StringComparison.Ordinal));
            Assert.Contains(names, n => n.EndsWith("plugins/ZipIt.Plugins.MuDsc/ZipIt.Plugins.MuDsc.dll", StringComparison.Ordinal));
            Assert.Contains(names, n => n.EndsWith("plugins/ZipIt.Plugins.Vit/ZipIt.Plugins.Vit.dll", StringComparison.Ordinal));
            // Built-in plugins share the host's TorchSharp and contracts (a second libtorch aborts the process).
            Assert.DoesNotContain(names, n => n.Contains("/plugins/", StringComparison.Ordinal)
                && (n.EndsWith("/TorchSharp.dll", StringComparison.Ordinal) || n.EndsWith("/ZipIt.Abstractions.dll", StringComparison.Ordinal)));
            Assert.Contains(names, n => n.EndsWith("/libtorch_cpu.so", StringComparison.Ordinal));
            // Image decoding and report plots: SkiaSharp's native library, with no system dependencies.
            Assert.Contains(names, n => n.EndsWith("/libSkiaSharp.so", StringComparison.Ordinal));
            Assert.Contains(names, n => n.EndsWith("/ScottPlot.dll", StringComparison.Ordinal));
            Assert.DoesNotContain(names, n => n.EndsWith("/libtorch_python.so", StringComparison.Ordinal));
        }

        var app = Path.Combine(work.Path, "app");
        Directory.CreateDirectory(app);
        var env = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(work.Path, "packages") };
        DotNet.RunOrFail(app, env, "new", "tool-manifest");
        DotNet.RunOrFail(app, env, "tool", "install", "dotnet-zipit", "--version", version, "--add-source", feed);
        Assert.Contains("Usage:", DotNet.RunOrFail(app, env, "zipit", "--help"));

        var plugins = JsonDocument.Parse(DotNet.RunOrFail(app, env, "zipit", "plugins", "list", "--json", "-v", "q")).RootElement;
        Assert.Contains(plugins.GetProperty("architectures").EnumerateArray(), a => a.GetProperty("name").GetString() == "resnet");
        Assert.Contains(plugins.GetProperty("matchers").EnumerateArray(), m => m.GetProperty("name").GetString() == "mudsc");

        // A model computation from the installed copy: libtorch and the patched LibTorchSharp load from the package.
        var output = Path.Combine(work.Path, "out.safetensors");
        DotNet.RunOrFail(app, env, "zipit", "predict", Repository.Fixture("parity", "resnet20x2_cifar.safetensors"),
            "-i", Repository.Fixture("parity", "resnet20x2_cifar.io.safetensors"), "-o", output);
        Assert.True(File.Exists(output));

        var toolPath = Path.Combine(work.Path, "tools");
        DotNet.RunOrFail(work.Path, env, "tool", "install", "dotnet-zipit", "--version", version, "--add-source", feed, "--tool-path", toolPath);
        var (code, help) = Process(Path.Combine(toolPath, "dotnet-zipit"), "--version");
        Assert.True(code == 0, help);
        Assert.StartsWith(version, help.Trim());
    }

    private static (int, string) Process(string file, params string[] args)
    {
        var info = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(info)!;
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output);
    }
}
