using System.Diagnostics;
using System.Reflection;
using System.Text.RegularExpressions;

namespace ZipIt.Engine.Runtime;

/// <summary>Where libtorch builds are on this machine (the tool's own, an installed PyTorch's <c>torch/lib</c>) and which version each is.</summary>
internal static class LibTorchLocator
{
    internal static bool SameFolder(string a, string b) =>
        string.Equals(Path.TrimEndingDirectorySeparator(Path.GetFullPath(a)), Path.TrimEndingDirectorySeparator(Path.GetFullPath(b)), StringComparison.Ordinal);

    /// <summary>The tool's own libtorch: next to the tool (RID-specific build, installed tool) or under runtimes/linux-x64/native (RID-less build).</summary>
    internal static string? BundledFolder() =>
        new[] { AppContext.BaseDirectory, Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native") }
            .Select(d => Path.TrimEndingDirectorySeparator(Path.GetFullPath(d)))
            .FirstOrDefault(d => File.Exists(Path.Combine(d, "libtorch_cpu.so")));

    internal static string? LibTorchSharpFolder() =>
        new[] { AppContext.BaseDirectory, Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native") }
            .FirstOrDefault(d => File.Exists(Path.Combine(d, "libLibTorchSharp.so")));

    internal static string? BundledVersion() =>
        typeof(TorchRuntime).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "LibTorchVersion")?.Value;

    /// <summary>
    /// The version of the libtorch in <paramref name="dir"/>, from what its distributions carry:
    /// PyTorch's <c>torch/version.py</c>, the libtorch zip's <c>build-version</c>, or the NuGet
    /// package folder (<c>libtorch-*/VERSION/runtimes/RID/native</c>).
    /// </summary>
    internal static string? VersionOf(string dir)
    {
        var parent = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(dir));
        if (parent is null) return null;
        var versionPy = Path.Combine(parent, "version.py");
        if (File.Exists(versionPy) && Regex.Match(File.ReadAllText(versionPy), @"^__version__\s*=\s*['""]([^'""]+)['""]", RegexOptions.Multiline) is { Success: true } m)
            return m.Groups[1].Value;
        var buildVersion = Path.Combine(parent, "build-version");
        if (File.Exists(buildVersion)) return File.ReadAllText(buildVersion).Trim();
        var parts = Path.TrimEndingDirectorySeparator(dir).Split(Path.DirectorySeparatorChar);
        if (parts.Length >= 5 && parts[^1] == "native" && parts[^3] == "runtimes" && parts[^5].StartsWith("libtorch", StringComparison.OrdinalIgnoreCase))
            return parts[^4];
        return null;
    }

    internal static string? CudaVersionOf(string dir)
    {
        var versionPy = Path.Combine(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(dir)) ?? "", "version.py");
        if (!File.Exists(versionPy)) return null;
        var m = Regex.Match(File.ReadAllText(versionPy), @"^cuda\s*(?::\s*[^=]+)?=\s*['""]([^'""]+)['""]", RegexOptions.Multiline);
        return m.Success ? m.Groups[1].Value : null;
    }

    internal static Version? ParseVersion(string text)
    {
        var m = Regex.Match(text, @"^(\d+)\.(\d+)");
        return m.Success ? new Version(int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value)) : null;
    }

    /// <summary>
    /// An installed PyTorch's <c>torch/lib</c> with CUDA: folders on <c>LD_LIBRARY_PATH</c>, the
    /// active virtual or conda environment, the user's and the system's site-packages, then
    /// <c>python3</c>'s own answer (<c>find_spec</c>, which does not import torch).
    /// </summary>
    internal static string? FindPyTorch(List<string> searched)
    {
        static IEnumerable<string> SitePackages(string? prefix)
        {
            if (string.IsNullOrEmpty(prefix) || !Directory.Exists(Path.Combine(prefix, "lib"))) yield break;
            foreach (var python in Directory.EnumerateDirectories(Path.Combine(prefix, "lib"), "python3*").Order())
            {
                yield return Path.Combine(python, "site-packages");
                yield return Path.Combine(python, "dist-packages");
            }
        }
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var candidates = new List<string>();
        candidates.AddRange((Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries));
        foreach (var prefix in new[] { Environment.GetEnvironmentVariable("VIRTUAL_ENV"), Environment.GetEnvironmentVariable("CONDA_PREFIX"), Path.Combine(home, ".local"), "/usr/local", "/usr", "/opt/conda" })
            candidates.AddRange(SitePackages(prefix).Select(s => Path.Combine(s, "torch", "lib")));
        candidates.Add("/usr/lib/python3/dist-packages/torch/lib");
        foreach (var c in candidates.Distinct())
        {
            searched.Add(c);
            if (File.Exists(Path.Combine(c, "libtorch_cuda.so"))) return c;
        }
        searched.Add("python3");
        try
        {
            using var python = Process.Start(new ProcessStartInfo("python3", ["-c", "import importlib.util as u; s = u.find_spec('torch'); print(s.submodule_search_locations[0] if s and s.submodule_search_locations else '')"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (python is null) return null;
            var output = python.StandardOutput.ReadToEnd().Trim();
            if (!python.WaitForExit(10_000)) { python.Kill(); return null; }
            var lib = output.Length > 0 ? Path.Combine(output, "lib") : null;
            return lib is not null && File.Exists(Path.Combine(lib, "libtorch_cuda.so")) ? lib : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // no python3 on PATH
        }
    }
}
