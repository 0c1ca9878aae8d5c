using System.Diagnostics;
using ZipIt.Engine.Core;

namespace ZipIt.Tests;

/// <summary>Runs the dotnet CLI as a child process (for tests that pack and build projects as a user would).</summary>
internal static class DotNet
{
    // `dotnet test` exports MSBuild variables that would make a child build use the test host's MSBuild state.
    private static readonly string[] Inherited = ["MSBuildExtensionsPath", "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "MSBuildLoadMicrosoftTargetsReadOnly", "DOTNET_HOST_PATH"];

    public static (int ExitCode, string Output) Run(string workingDirectory, params string[] args) =>
        Run(workingDirectory, null, args);

    public static (int ExitCode, string Output) Run(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var name in Inherited) info.Environment.Remove(name);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) info.Environment[k] = v;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    public static string RunOrFail(string workingDirectory, params string[] args) => RunOrFail(workingDirectory, null, args);

    public static string RunOrFail(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var (code, output) = Run(workingDirectory, environment, args);
        Assert.True(code == 0, $"dotnet {string.Join(' ', args)} failed ({code}):\n{output}");
        return output;
    }
}
