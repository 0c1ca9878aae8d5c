using System.Reflection;
using McMaster.NETCore.Plugins;
using Microsoft.Extensions.Logging;
using TorchSharp;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Plugins;

/// <summary>
/// Finds plugin assemblies on the <see cref="PluginSearchPath"/> and loads each into its own load
/// context with McMaster.NETCore.Plugins. TorchSharp, ZipIt.Abstractions, ZipIt.Matching and the logging
/// abstractions are shared with the host: a plugin with its own TorchSharp would bring a second
/// libtorch into the process, which aborts it. A plugin that fails is reported in one line and
/// skipped; the others keep working.
/// </summary>
internal static class PluginHost
{
    private static readonly Type[] SharedTypes = [typeof(IZipItPlugin), typeof(ZipIt.Matching.ZipItGreedy), typeof(torch), typeof(ILogger)];

    /// <param name="builtIn">The matchers compiled into the tool, listed as the tool's own plugin.</param>
    public static PluginCatalog Load(PluginSearchPath path, ILogger logger, IZipItPlugin builtIn)
    {
        var problems = new List<PluginProblem>();
        var plugins = new List<LoadedPlugin>();
        var architectures = new List<(IArchitecture, LoadedPlugin)>();
        var matchers = new List<(IMatcher, LoadedPlugin)>();
        var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

        // The matchers compiled into the tool are listed like a plugin's, so names clash the same way.
        var tool = builtIn.GetType().Assembly;
        var self = new LoadedPlugin(ToolIdentity.AssemblyName, StripCommitHash(
            tool.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?"),
            Path.Combine(AppContext.BaseDirectory, ToolIdentity.AssemblyName + ".dll"), PluginSource.BuiltIn);
        plugins.Add(self);
        var own = new RecordingRegistry();
        builtIn.Register(own);
        foreach (var m in own.Matchers) matchers.Add((m, self));

        foreach (var (dll, source) in Candidates(path, logger))
        {
            var name = Path.GetFileNameWithoutExtension(dll);
            if (seen.TryGetValue(name, out var first))
            {
                if (!string.Equals(first, dll, StringComparison.Ordinal))
                    logger.LogDebug("plugin '{Name}' at {Path} skipped: already loaded from {First}", name, dll, first);
                continue;
            }
            seen[name] = dll;
            var problem = TryLoad(dll, source, out var plugin, out var registry);
            if (problem is not null)
            {
                problems.Add(new PluginProblem(name, dll, problem));
                logger.LogWarning("{Problem}", problems[^1].ToString());
                continue;
            }
            plugins.Add(plugin!);
            foreach (var a in registry!.Architectures)
            {
                var clash = architectures.FirstOrDefault(x => string.Equals(x.Item1.Name, a.Name, StringComparison.OrdinalIgnoreCase));
                if (clash.Item1 is not null)
                {
                    problems.Add(new PluginProblem(name, dll, $"architecture '{a.Name}' is already provided by plugin '{clash.Item2.Name}'"));
                    logger.LogWarning("{Problem}", problems[^1].ToString());
                }
                else architectures.Add((a, plugin!));
            }
            foreach (var m in registry.Matchers)
            {
                var clash = matchers.FirstOrDefault(x => string.Equals(x.Item1.Name, m.Name, StringComparison.OrdinalIgnoreCase));
                if (clash.Item1 is not null)
                {
                    problems.Add(new PluginProblem(name, dll, $"matcher '{m.Name}' is already provided by plugin '{clash.Item2.Name}'"));
                    logger.LogWarning("{Problem}", problems[^1].ToString());
                }
                else matchers.Add((m, plugin!));
            }
            logger.LogDebug("loaded plugin {Name} {Version} from {Path}", plugin!.Name, plugin.Version, dll);
        }
        return new PluginCatalog(plugins, architectures, matchers, problems);
    }

    private static IEnumerable<(string Dll, PluginSource Source)> Candidates(PluginSearchPath path, ILogger logger)
    {
        foreach (var dll in Scan(path.BuiltIn)) yield return (dll, PluginSource.BuiltIn);
        foreach (var entry in path.Explicit)
        {
            if (!File.Exists(entry) && !Directory.Exists(entry))
                throw ZipItException.Plugin($"--plugins {entry}: no such file or folder");
            var found = Scan(entry).ToList();
            if (found.Count == 0)
                throw ZipItException.Plugin($"--plugins {entry}: no plugin found (expected <name>/<name>.dll folders or a <name>.dll with <name>.deps.json)");
            foreach (var dll in found) yield return (dll, PluginSource.CommandLine);
        }
        foreach (var entry in path.FromEnvironment)
        {
            if (!Directory.Exists(entry) && !File.Exists(entry))
            {
                logger.LogDebug("ZIPIT_PLUGIN_PATH entry {Entry} does not exist", entry);
                continue;
            }
            foreach (var dll in Scan(entry)) yield return (dll, PluginSource.Environment);
        }
        foreach (var dll in Scan(path.User)) yield return (dll, PluginSource.User);
    }

    /// <summary>
    /// A plugin .dll; a plugin folder (<c>name/name.dll</c>, or a build output with
    /// <c>name.deps.json</c> beside <c>name.dll</c>); or a folder of plugin folders.
    /// </summary>
    internal static IEnumerable<string> Scan(string entry)
    {
        if (File.Exists(entry))
        {
            if (entry.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)) yield return Path.GetFullPath(entry);
            yield break;
        }
        if (!Directory.Exists(entry)) yield break;
        var own = PluginsIn(entry).ToList();
        if (own.Count > 0)
        {
            foreach (var dll in own) yield return dll;
            yield break;
        }
        foreach (var dir in Directory.GetDirectories(entry).Order(StringComparer.Ordinal))
            foreach (var dll in PluginsIn(dir))
                yield return dll;
    }

    private static IEnumerable<string> PluginsIn(string dir)
    {
        var named = Path.Combine(dir, Path.GetFileName(Path.TrimEndingDirectorySeparator(dir)) + ".dll");
        if (File.Exists(named))
        {
            yield return Path.GetFullPath(named);
            yield break;
        }
        foreach (var deps in Directory.GetFiles(dir, "*.deps.json").Order(StringComparer.Ordinal))
        {
            var dll = deps[..^".deps.json".Length] + ".dll";
            if (File.Exists(dll)) yield return Path.GetFullPath(dll);
        }
    }

    private static string? TryLoad(string dll, PluginSource source, out LoadedPlugin? plugin, out RecordingRegistry? registry)
    {
        plugin = null;
        registry = null;
        Assembly assembly;
        try
        {
            var loader = PluginLoader.CreateFromAssemblyFile(dll, isUnloadable: false, sharedTypes: SharedTypes);
            assembly = loader.LoadDefaultAssembly();
        }
        catch (BadImageFormatException)
        {
            return "not a .NET assembly";
        }
        catch (Exception e)
        {
            return $"failed to load: {Messages.OneLine(e.Message)}";
        }

        var hostContract = typeof(IZipItPlugin).Assembly.GetName();
        var wanted = assembly.GetReferencedAssemblies().FirstOrDefault(r => r.Name == hostContract.Name);
        if (wanted is null)
            return "it does not reference ZipIt.Abstractions, so it is not a zipit plugin";
        if (wanted.Version > hostContract.Version)
            return $"built against ZipIt.Abstractions {wanted.Version}, newer than this zipit's {hostContract.Version}; update zipit or rebuild the plugin against ZipIt.Abstractions {hostContract.Version}";

        try
        {
            var attribute = assembly.GetCustomAttribute<ZipItPluginAttribute>();
            if (attribute is null)
                return "no [assembly: ZipItPlugin(typeof(...))] attribute names its entry type";
            if (!typeof(IZipItPlugin).IsAssignableFrom(attribute.PluginType) || attribute.PluginType.IsAbstract)
                return $"entry type {attribute.PluginType.FullName} does not implement IZipItPlugin";
            var entry = (IZipItPlugin)Activator.CreateInstance(attribute.PluginType)!;
            registry = new RecordingRegistry();
            entry.Register(registry);
        }
        catch (Exception e)
        {
            var inner = e is TargetInvocationException { InnerException: { } i } ? i : e;
            registry = null;
            return $"failed while registering: {inner.GetType().Name}: {Messages.OneLine(inner.Message)}";
        }

        var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                      ?? assembly.GetName().Version?.ToString() ?? "?";
        plugin = new LoadedPlugin(assembly.GetName().Name ?? Path.GetFileNameWithoutExtension(dll), StripCommitHash(version), dll, source);
        return null;
    }

    // The SDK appends "+<commit>" to informational versions; users need the version, not the commit.
    private static string StripCommitHash(string version) => version.Split('+')[0];

    private sealed class RecordingRegistry : IPluginRegistry
    {
        public List<IArchitecture> Architectures { get; } = [];
        public List<IMatcher> Matchers { get; } = [];

        public void AddArchitecture(IArchitecture architecture)
        {
            ArgumentNullException.ThrowIfNull(architecture);
            if (string.IsNullOrWhiteSpace(architecture.Name)) throw new ArgumentException("an architecture has an empty name");
            Architectures.Add(architecture);
        }

        public void AddMatcher(IMatcher matcher)
        {
            ArgumentNullException.ThrowIfNull(matcher);
            if (string.IsNullOrWhiteSpace(matcher.Name)) throw new ArgumentException("a matcher has an empty name");
            Matchers.Add(matcher);
        }
    }
}
