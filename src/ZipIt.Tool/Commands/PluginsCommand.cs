using System.CommandLine;
using ZipIt.Engine.Output;
using ZipIt.Engine.Plugins;
using ZipIt.Hosting;

using ZipIt.Engine.Checkpoints;

namespace ZipIt.Commands;

/// <summary><c>plugins list</c>: every architecture and matcher with the plugin, version and path it comes from.</summary>
internal static class PluginsCommand
{
    public static Command Create(CommandRunner runner)
    {
        var json = CommonOptions.Json();
        var list = new Command("list", "List the installed architectures and matchers, with their plugin, version and path.") { json };
        list.SetAction((parse, ct) => Task.FromResult(runner.Run(parse, ct, ctx => List(ctx, ctx.Value(json)))));
        list.WithExamples("dotnet zipit plugins list", "dotnet zipit plugins list --json", "dotnet zipit plugins list --plugins ./my-plugins");
        return new Command("plugins", "Inspect the plugins zipit loads.") { list }.WithExamples("dotnet zipit plugins list");
    }

    private static int List(CommandContext ctx, bool json)
    {
        var catalog = ctx.Plugins;
        if (json)
        {
            Json.Write(ctx.Out, new
            {
                version = 1,
                architectures = catalog.Architectures.Select(a => new
                {
                    name = a.Architecture.Name,
                    description = a.Architecture.Description,
                    variants = a.Architecture.Variants.Select(v => new { name = v.Name, description = v.Description }),
                    plugin = a.Plugin.Name,
                    pluginVersion = a.Plugin.Version,
                    path = a.Plugin.Path,
                }),
                matchers = catalog.Matchers.Select(m => new
                {
                    name = m.Matcher.Name,
                    description = m.Matcher.Description,
                    parameters = m.Matcher.Parameters.Select(p => new { name = p.Name, @default = p.Default, description = p.Description }),
                    presets = m.Matcher.Presets.Select(p => new { name = p.Name, label = p.Label, settings = p.Settings, description = p.Description }),
                    plugin = m.Plugin.Name,
                    pluginVersion = m.Plugin.Version,
                    path = m.Plugin.Path,
                }),
                plugins = catalog.Plugins.Select(p => new { name = p.Name, version = p.Version, source = p.Source, path = p.Path }),
                problems = catalog.Problems.Select(p => new { plugin = p.Plugin, path = p.Path, reason = p.Reason }),
            });
            return 0;
        }

        var o = ctx.Out;
        o.WriteLine("architectures:");
        var archs = new TextTable();
        foreach (var (a, p) in catalog.Architectures)
            archs.Add(a.Name, $"{p.Name} {p.Version}", a.Description);
        if (archs.Count == 0) o.WriteLine("  (none)"); else archs.Write(o, "  ");
        foreach (var (a, _) in catalog.Architectures)
            o.WriteLine($"  {a.Name} variants: {string.Join(", ", a.Variants.Select(v => v.Name))}");
        o.WriteLine("matchers:");
        var matchers = new TextTable();
        foreach (var (m, p) in catalog.Matchers)
            matchers.Add(m.Name, $"{p.Name} {p.Version}", m.Description);
        if (matchers.Count == 0) o.WriteLine("  (none)"); else matchers.Write(o, "  ");
        o.WriteLine("plugins:");
        var plugins = new TextTable();
        foreach (var p in catalog.Plugins)
            plugins.Add(p.Name, p.Version, SourceName(p.Source), p.Path);
        if (plugins.Count == 0) o.WriteLine("  (none)"); else plugins.Write(o, "  ");
        if (catalog.Problems.Count > 0)
        {
            o.WriteLine("not loaded:");
            foreach (var problem in catalog.Problems) o.WriteLine($"  {problem.Plugin}: {problem.Reason} ({problem.Path})");
        }
        return 0;
    }

    private static string SourceName(PluginSource source) => source switch
    {
        PluginSource.BuiltIn => "built-in",
        PluginSource.CommandLine => "--plugins",
        PluginSource.Environment => "ZIPIT_PLUGIN_PATH",
        _ => "user",
    };
}
