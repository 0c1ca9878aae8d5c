using System.Text.Json;

namespace ZipIt.Tests.PluginHost;

/// <summary>
/// The plugin author's start, as a user would do it: ZipIt.Abstractions, ZipIt.Testing and
/// ZipIt.Templates packed from this repository into a local feed under one unique prerelease version
/// (so NuGet's global cache never serves an older pack), and the templates installed with
/// <c>dotnet new install</c> into a private template hive, so the machine's own templates are untouched.
/// </summary>
public sealed class TemplatePackage : IDisposable
{
    private readonly TempDirectory _work = new("zipit-templates");

    public TemplatePackage()
    {
        var suffix = "tpl" + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff");
        Version = $"0.1.0-{suffix}";
        Feed = Path.Combine(_work.Path, "feed");
        Hive = Path.Combine(_work.Path, "hive");
        Projects = Path.Combine(_work.Path, "projects");
        Directory.CreateDirectory(Projects);
        // One pack of the three projects through a solution filter: one build, one MSBuild start.
        var filter = Path.Combine(_work.Path, "sdk.slnf");
        File.WriteAllText(filter, JsonSerializer.Serialize(new
        {
            solution = new
            {
                path = Path.Combine(Repository.Root, "ZipIt.sln"),
                projects = new[] { "src/ZipIt.Abstractions/ZipIt.Abstractions.csproj", "src/ZipIt.Testing/ZipIt.Testing.csproj", "templates/ZipIt.Templates/ZipIt.Templates.csproj" },
            },
        }));
        DotNet.RunOrFail(_work.Path, "pack", filter, "-c", "Release", "-o", Feed, "-nodeReuse:false",
            "--artifacts-path", Path.Combine(_work.Path, "artifacts"), "-p:VersionPrefix=0.1.0", $"-p:VersionSuffix={suffix}");
        File.WriteAllText(Path.Combine(Projects, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
                <add key="local" value="{Feed}" />
              </packageSources>
            </configuration>
            """);
        DotNet.RunOrFail(_work.Path, "new", "install", Path.Combine(Feed, $"ZipIt.Templates.{Version}.nupkg"), "--debug:custom-hive", Hive);
    }

    /// <summary>The version of every packed package, and the one the templates reference by default.</summary>
    public string Version { get; }

    /// <summary>The local package feed.</summary>
    public string Feed { get; }

    /// <summary>The private template hive the templates are installed into.</summary>
    public string Hive { get; }

    /// <summary>Where generated projects go (a nuget.config there names the feed).</summary>
    public string Projects { get; }

    /// <summary><c>dotnet new TEMPLATE -n NAME</c> in <see cref="Projects"/>; returns the generated folder.</summary>
    public string New(string template, string name)
    {
        var output = Path.Combine(Projects, name);
        DotNet.RunOrFail(Projects, "new", template, "-n", name, "-o", output, "--debug:custom-hive", Hive);
        return output;
    }

    public void Dispose() => _work.Dispose();
}
