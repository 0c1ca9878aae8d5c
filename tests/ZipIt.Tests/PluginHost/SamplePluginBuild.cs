namespace ZipIt.Tests.PluginHost;

/// <summary>
/// Builds samples/MlpPlugin the way a third party would: against a ZipIt.Abstractions package packed
/// from this repository (and once more against a "newer" contract, 99.0.0), outside the solution.
/// Its test project (samples/MlpPlugin.Tests, on the packed ZipIt.Testing) is copied next to it and
/// run on demand by <see cref="RunSampleTests"/>.
/// A unique prerelease suffix keeps NuGet's global cache from serving an older pack.
/// </summary>
public sealed class SamplePluginBuild : IDisposable
{
    private readonly TempDirectory _work = new("zipit-sample");

    public SamplePluginBuild()
    {
        var suffix = "test" + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff");
        var feed = Path.Combine(_work.Path, "feed");
        var abstractions = Path.Combine(Repository.Root, "src", "ZipIt.Abstractions", "ZipIt.Abstractions.csproj");
        var source = Path.Combine(_work.Path, "src", "MlpPlugin");
        CopyDirectory(Path.Combine(Repository.Root, "samples", "MlpPlugin"), source);
        CopyDirectory(Path.Combine(Repository.Root, "samples", "MlpPlugin.Tests"), Path.Combine(_work.Path, "src", "MlpPlugin.Tests"));
        File.WriteAllText(Path.Combine(_work.Path, "src", "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
                <add key="local" value="{feed}" />
              </packageSources>
            </configuration>
            """);

        Pack(abstractions, feed, "0.1.0", suffix, "current");
        Pack(Path.Combine(Repository.Root, "src", "ZipIt.Testing", "ZipIt.Testing.csproj"), feed, "0.1.0", suffix, "current");
        Version = $"0.1.0-{suffix}";
        Pack(abstractions, feed, "99.0.0", suffix, "newer");
        PluginFolder = Build(source, $"0.1.0-{suffix}", Path.Combine(_work.Path, "plugins", "MlpPlugin"), "current");
        NewerPluginFolder = Build(source, $"99.0.0-{suffix}", Path.Combine(_work.Path, "newer", "MlpPlugin"), "newer");
    }

    /// <summary>Output folder of the sample built against the current contract.</summary>
    public string PluginFolder { get; }

    /// <summary>Output folder of the sample built against ZipIt.Abstractions 99.0.0.</summary>
    public string NewerPluginFolder { get; }

    public string WorkPath => _work.Path;

    /// <summary>The version of the packed current SDK packages (ZipIt.Abstractions, ZipIt.Testing) in the local feed.</summary>
    public string Version { get; }

    /// <summary>Runs <c>dotnet test</c> on the copied sample test project against the packed packages; returns its exit code and output.</summary>
    public (int ExitCode, string Output) RunSampleTests() =>
        DotNet.Run(Path.Combine(_work.Path, "src", "MlpPlugin.Tests"), "test", "-c", "Release", "-nodeReuse:false",
            "--artifacts-path", Path.Combine(_work.Path, "build-tests"), $"-p:ZipItAbstractionsVersion={Version}");

    private void Pack(string project, string feed, string prefix, string suffix, string tag) =>
        DotNet.RunOrFail(_work.Path, "pack", project, "-c", "Release", "-o", feed, "-nodeReuse:false",
            "--artifacts-path", Path.Combine(_work.Path, "artifacts-" + tag),
            $"-p:VersionPrefix={prefix}", $"-p:VersionSuffix={suffix}");

    private string Build(string project, string version, string output, string tag)
    {
        DotNet.RunOrFail(Path.GetDirectoryName(project)!, "build", project, "-c", "Release", "-o", output, "-nodeReuse:false",
            "--artifacts-path", Path.Combine(_work.Path, "build-" + tag), $"-p:ZipItAbstractionsVersion={version}");
        return output;
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        // Sources only: build outputs of an in-place build of the sample must not travel with it.
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }

    public void Dispose() => _work.Dispose();
}
