using SkiaSharp;
using TorchSharp;
using ZipIt.Engine.Core;
using static TorchSharp.torch;

namespace ZipIt.Engine.Data;

/// <summary>
/// Where a command's images come from, as <c>--data</c> and <c>--eval-data</c> write it:
/// <list type="bullet">
/// <item>a tensor file (<c>.safetensors</c> with <c>images</c> [N, C, H, W] and optionally
/// <c>labels</c> [N]): model inputs already, taken as they are, the first N;</item>
/// <item>a dataset spec <c>NAME[:SPLIT][:CLASSES]</c>: a dataset zipit knows
/// (<c>fashion-mnist:train:0-4</c>, <c>mnist:test</c>, <c>cifar10</c>) or a dataset folder, its
/// split <c>train</c>, <c>validation</c> (the part held out of training) or <c>test</c>, and a
/// subset of its classes; labels are the dataset's class ids;</item>
/// <item>an image folder: one subfolder per class (labels are the sorted subfolders' indices), or
/// <c>train/</c> and <c>test/</c> parts of those, or a flat folder of images (unlabelled: calibration only).</item>
/// </list>
/// Datasets and folders are turned into model inputs by the models' <see cref="Preprocessing"/>;
/// <c>--images N</c> draws N images class-balanced (seeded): each class's images in a seeded random
/// order, taken in turn class by class, so every batch mixes the classes.
/// </summary>
internal sealed record DataSource(string Text, DataSourceKind Kind, string Location, DataSplit? Split, IReadOnlyList<long>? Classes)
{
    /// <summary>Whether model inputs are made by a preprocessing (everything but a tensor file).</summary>
    public bool NeedsPreprocessing => Kind != DataSourceKind.TensorFile;

    /// <summary>The file or folder named, if any: what output checks must not overwrite.</summary>
    public string? LocalPath => Kind == DataSourceKind.TensorFile || Directory.Exists(Location) ? Location : null;

    public override string ToString() => Text;

    /// <summary>Reads <paramref name="text"/>; exit 2 naming <paramref name="option"/> for a spec that is neither a file, a folder nor a dataset.</summary>
    public static DataSource Parse(string text, string option)
    {
        if (string.IsNullOrWhiteSpace(text)) throw ZipItException.Usage($"{option}: empty");
        if (File.Exists(text)) return new(text, DataSourceKind.TensorFile, text, null, null);
        if (Directory.Exists(text)) return FromFolder(text, text, null, null, option);
        var parts = text.Split(':');
        var name = parts[0];
        var known = DatasetCatalog.Names.Any(k => string.Equals(k.Name, name, StringComparison.OrdinalIgnoreCase));
        if (!known && !Directory.Exists(name))
        {
            var datasets = string.Join(", ", DatasetCatalog.Names.Select(n => n.Name));
            throw parts.Length == 1 && (text.Contains('/') || text.Contains('.'))
                ? ZipItException.Input($"{option} {text}: no such file or folder")
                : ZipItException.Usage($"{option} {text}: not a file, a folder or a dataset spec NAME[:SPLIT][:CLASSES] (datasets: {datasets})");
        }
        DataSplit? split = null;
        IReadOnlyList<long>? classes = null;
        foreach (var part in parts.Skip(1))
        {
            if (split is null && ParseSplit(part) is { } s) split = s;
            else if (classes is null && TaskSpec.TryParseClasses(part, out var c)) classes = c;
            else throw ZipItException.Usage($"{option} {text}: '{part}' is neither a split (train, validation, test) nor classes such as 0-4");
        }
        return known ? new(text, DataSourceKind.Dataset, name, split, classes) : FromFolder(text, name, split, classes, option);
    }

    private static DataSource FromFolder(string text, string folder, DataSplit? split, IReadOnlyList<long>? classes, string option)
    {
        if (DatasetFormat.All.Where(f => f is not ImageFolderFormat).Any(f => f.Recognises(folder)))
            return new(text, DataSourceKind.Dataset, folder, split, classes);
        if (ImageFolderFormat.IsSplit(folder) || ImageFolderFormat.ClassFolders(folder).Any(ImageFolderFormat.HasImages))
            return new(text, DataSourceKind.ImageFolder, folder, split, classes);
        if (Directory.EnumerateFiles(folder).Any(ImageFolderFormat.IsImage))
        {
            if (split is not null || classes is not null)
                throw ZipItException.Usage($"{option} {text}: {folder} is a flat folder of images, without classes or splits to choose");
            return new(text, DataSourceKind.ImageFolder, folder, null, null);
        }
        throw ZipItException.Input($"{option} {folder}: a folder with no .png/.jpg/.jpeg images (expected class subfolders, train/ and test/, or images)");
    }

    private static DataSplit? ParseSplit(string text) => text.ToLowerInvariant() switch
    {
        "train" => DataSplit.Train,
        "validation" or "val" => DataSplit.Validation,
        "test" => DataSplit.Test,
        _ => null,
    };

    /// <summary>
    /// The images as model inputs (float32), at most <see cref="DataRequest.Images"/> of them. Exit 3
    /// naming the source for anything unreadable, an empty set, missing labels where they are
    /// needed, or a dataset or folder with no preprocessing to make inputs by.
    /// </summary>
    public TensorDataset Load(DataRequest request)
    {
        if (Kind == DataSourceKind.TensorFile) return TensorDataset.Load(Location, request.Images, request.LabelsRequired);
        var preprocessing = request.Preprocessing
            ?? throw ZipItException.Input($"{request.Option} {Text}: images need the models' preprocessing, and {request.WhyNoPreprocessing ?? "none is known"}; "
                + $"pass --preprocess (a preset: {string.Join(", ", Preprocessing.Presets.Keys)}, or size=N mean=M std=S) or a tensor file");
        return Kind == DataSourceKind.Dataset ? LoadDataset(request, preprocessing) : LoadFolder(request, preprocessing);
    }

    private TensorDataset LoadDataset(DataRequest request, Preprocessing preprocessing)
    {
        using var task = DataTask.Open(new TaskSpec(Location, Classes));
        var set = task.Split(Split ?? request.DefaultSplit);
        if (set.Count == 0) throw ZipItException.Input($"{request.Option} {Text}: the {(Split ?? request.DefaultSplit).ToString().ToLowerInvariant()} split holds no images of these classes");
        var order = Draw(set.Labels.data<long>().ToArray(), request.Images, request.Seed);
        var transform = preprocessing.Transform();
        using var scope = NewDisposeScope();
        var images = new List<Tensor>();
        const int chunk = 1000;
        for (var start = 0; start < order.Length; start += chunk)
        {
            using var idx = torch.tensor(order[start..Math.Min(order.Length, start + chunk)]);
            images.Add(transform.Apply(set.Images.index_select(0, idx)));
        }
        using var all = torch.tensor(order);
        var labels = set.Labels.index_select(0, all);
        return TensorDataset.FromTensors(Text, torch.cat(images).MoveToOuterDisposeScope(), labels.MoveToOuterDisposeScope());
    }

    private TensorDataset LoadFolder(DataRequest request, Preprocessing preprocessing)
    {
        var (files, labelled) = FolderFiles(request);
        if (files.Count == 0) throw ZipItException.Input($"{request.Option} {Text}: no images of these classes");
        if (!labelled && request.LabelsRequired)
            throw ZipItException.Input($"{request.Option} {Location}: a flat folder of images has no labels; evaluation needs one subfolder per class");
        var order = Draw(labelled ? files.Select(f => (long)f.Label).ToArray() : null, files.Count, request.Images, request.Seed);
        var transform = preprocessing.Transform();
        using var scope = NewDisposeScope();
        var images = new Tensor[order.Length];
        for (var i = 0; i < order.Length; i++)
        {
            request.Cancellation.ThrowIfCancellationRequested();
            using var inner = NewDisposeScope();
            var file = files[(int)order[i]];
            var decoded = ImageFolderFormat.Decode(file.Path, file.Label);
            using (decoded.Bitmap) images[i] = transform.Apply(Bytes(decoded.Bitmap)).MoveToOuterDisposeScope();
        }
        var labels = labelled ? torch.tensor(order.Select(i => (long)files[(int)i].Label).ToArray()) : null;
        return TensorDataset.FromTensors(Text, torch.cat(images).MoveToOuterDisposeScope(), labels?.MoveToOuterDisposeScope());
    }

    /// <summary>The folder's image files with their class (sorted subfolder index), and whether it has classes.</summary>
    private (List<(string Path, int Label)> Files, bool Labelled) FolderFiles(DataRequest request)
    {
        var folder = Location;
        if (!ImageFolderFormat.IsSplit(folder) && !ImageFolderFormat.ClassFolders(folder).Any(ImageFolderFormat.HasImages))
            return ([.. Directory.EnumerateFiles(folder).Where(ImageFolderFormat.IsImage).Order(StringComparer.Ordinal).Select(f => (f, -1))], false);
        List<(string Path, int Label)> files;
        if (ImageFolderFormat.IsSplit(folder))
        {
            var split = Split ?? request.DefaultSplit;
            if (split == DataSplit.Validation)
                throw ZipItException.Usage($"{request.Option} {Text}: {folder} has train/ and test/ parts, no validation part");
            var classes = ImageFolderFormat.ClassFolders(Path.Combine(folder, "train")).Select(d => Path.GetFileName(d)!).ToList();
            var root = Path.Combine(folder, split == DataSplit.Test ? "test" : "train");
            files = [.. ImageFolderFormat.Files(root, classes, required: split != DataSplit.Test)];
        }
        else
        {
            var classes = ImageFolderFormat.ClassFolders(folder).Where(ImageFolderFormat.HasImages).Select(d => Path.GetFileName(d)!).ToList();
            files = [.. ImageFolderFormat.Files(folder, classes, required: true)];
            // A split of a plain class folder: every fifth image of each class is its test part, as the dataset reader holds it out.
            if (Split is { } split)
                files = [.. files.GroupBy(f => f.Label).SelectMany(g => g.Where((_, i) => (i % ImageFolderFormat.TestEvery == ImageFolderFormat.TestEvery - 1) == (split == DataSplit.Test)))];
        }
        if (Classes is { } wanted)
            files = [.. files.Where(f => wanted.Contains(f.Label))];
        return (files, true);
    }

    /// <summary>Indices of the images to take, in the order to take them (see the class summary).</summary>
    private static long[] Draw(long[] labels, long? images, long seed) => Draw(labels, labels.LongLength, images, seed);

    private static long[] Draw(long[]? labels, long count, long? images, long seed)
    {
        var n = Math.Min(images ?? count, count);
        var generator = new Generator((ulong)seed);
        if (labels is null)
        {
            if (n == count) return [.. Enumerable.Range(0, (int)count).Select(i => (long)i)];
            using var perm = torch.randperm(count, generator: generator);
            using var taken = perm.narrow(0, 0, n).sort().Values;
            return taken.data<long>().ToArray();
        }
        var byClass = new SortedDictionary<long, List<long>>();
        for (long i = 0; i < labels.LongLength; i++)
        {
            if (!byClass.TryGetValue(labels[i], out var list)) byClass[labels[i]] = list = [];
            list.Add(i);
        }
        var shuffled = byClass.Values.Select(members =>
        {
            using var perm = torch.randperm(members.Count, generator: generator);
            return perm.data<long>().ToArray().Select(j => members[(int)j]).ToArray();
        }).ToList();
        var order = new List<long>((int)n);
        for (var round = 0; order.Count < n; round++)
            foreach (var members in shuffled)
                if (round < members.Length && order.Count < n) order.Add(members[round]);
        return [.. order];
    }

    /// <summary>A decoded image as uint8 [1, 3, H, W] (RGB; alpha dropped).</summary>
    private static Tensor Bytes(SKBitmap bitmap)
    {
        var (w, h) = (bitmap.Width, bitmap.Height);
        var plane = w * h;
        var rgba = bitmap.GetPixelSpan();
        var pixels = new byte[3 * plane];
        for (var c = 0; c < 3; c++)
            for (var p = 0; p < plane; p++)
                pixels[c * plane + p] = rgba[4 * p + c];
        return torch.tensor(pixels, [1, 3, h, w], ScalarType.Byte);
    }
}

/// <summary>The three kinds of <see cref="DataSource"/>.</summary>
internal enum DataSourceKind
{
    TensorFile,
    Dataset,
    ImageFolder,
}

/// <summary>What a command asks of a <see cref="DataSource"/>.</summary>
/// <param name="Option">The option that named the source, for messages.</param>
internal sealed record DataRequest(string Option)
{
    /// <summary>How datasets and folders become model inputs (the models' own, or <c>--preprocess</c>).</summary>
    public Preprocessing? Preprocessing { get; init; }

    /// <summary>Why <see cref="Preprocessing"/> is null, for the error that needs it.</summary>
    public string? WhyNoPreprocessing { get; init; }

    /// <summary>At most this many images (a tensor file's first ones; a dataset's or folder's class-balanced draw).</summary>
    public long? Images { get; init; }

    public long Seed { get; init; }

    /// <summary>The split of a dataset spec that names none: train for calibration, test for evaluation.</summary>
    public DataSplit DefaultSplit { get; init; } = DataSplit.Train;

    public bool LabelsRequired { get; init; }

    public CancellationToken Cancellation { get; init; }
}
