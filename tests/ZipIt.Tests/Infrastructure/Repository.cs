namespace ZipIt.Tests;

/// <summary>The repository root (the folder holding ZipIt.sln) and the shared fixtures beside it.</summary>
internal static class Repository
{
    private static readonly Lazy<string> RootPath = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ZipIt.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no ZipIt.sln above {AppContext.BaseDirectory}");
    });

    public static string Root => RootPath.Value;

    /// <summary><c>../shared/fixtures/{folder}/{name}</c>; fails the test when it is missing.</summary>
    public static string Fixture(string folder, string name)
    {
        var path = Path.GetFullPath(Path.Combine(Root, "..", "shared", "fixtures", folder, name));
        Assert.True(File.Exists(path), $"fixture missing: {path}");
        return path;
    }
}
