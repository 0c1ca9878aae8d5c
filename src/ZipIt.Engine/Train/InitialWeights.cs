using System.Security.Cryptography;
using System.Text.Json;
using TorchSharp;
using ZipIt.Engine.Core;
using ZipIt.Engine.Models;
using ZipIt.Engine.Output;
using ZipIt.Engine.Plugins;
using static TorchSharp.torch;

namespace ZipIt.Engine.Train;

/// <summary>
/// The weights a fine-tuning run (<c>train --init</c>) starts from: the trunk of an existing model
/// of the same architecture and widths, and its classifier head (the graph's output tensors) only
/// where the head means the same thing for the new task: a class-embedding head of the same width
/// (its output space is shared across tasks), or a logit head of the same dataset and class count.
/// Any other head keeps the seed's fresh initialisation.
/// </summary>
internal sealed record InitialWeights(string File, string Sha256, bool HeadKept, ArchitectureConfig Config)
{
    /// <summary>What <see cref="MetadataKeys.InitializedFrom"/> records.</summary>
    public string ToJson() => JsonSerializer.Serialize(new { file = File, sha256 = Sha256, head = HeadKept ? "kept" : "reinitialised", config = Config.ToString() }, Json.Compact);

    /// <summary>
    /// Copies <paramref name="path"/>'s weights into <paramref name="model"/> (a fresh model of
    /// <paramref name="config"/>); exit 3, one line, when it is not a single model of that
    /// architecture with the same settings (the class count aside).
    /// </summary>
    public static InitialWeights Apply(PluginCatalog plugins, string path, StagedModel model, IArchitecture architecture, ArchitectureConfig config,
        TrainHead head, string task)
    {
        var loader = new ModelLoader(plugins);
        var file = Path.GetFileName(Path.TrimEndingDirectorySeparator(path));
        using var init = loader.Load(path, device: torch.CPU);
        if (init.Layout is not null)
            throw ZipItException.Input($"--init {file} is a partially zipped model with {init.Layout.Heads} heads; fine-tuning starts from a single model");
        if (init.Config.Architecture != config.Architecture)
            throw ZipItException.Input($"--init {file} is a {init.Config.Architecture} model ({init.Config.Variant}), this run trains a {config.Architecture} ({config.Variant}); --init needs the same architecture");
        var differs = config.Settings.Keys.Union(init.Config.Settings.Keys)
            .Where(k => k != ClassesSetting && config.Get(k, "") != init.Config.Get(k, ""))
            .Select(k => $"{k} {init.Config.Get(k, "(none)")} ≠ {config.Get(k, "(none)")}").ToList();
        if (differs.Count > 0)
            throw ZipItException.Input($"--init {file} differs from the model this run trains ({string.Join(", ", differs)}); --init needs the same architecture and widths");

        var outputs = architecture.Describe(config).Outputs.Select(a => a.Tensor).ToHashSet(StringComparer.Ordinal);
        var keepHead = HeadFits(init, config, head, task);
        var source = init.CpuState();
        using (torch.no_grad())
        {
            foreach (var (key, target) in model.state_dict())
            {
                if (outputs.Contains(key) && !keepHead) continue;
                if (!source.TryGetValue(key, out var value))
                    throw ZipItException.Input($"--init {file} has no tensor '{key}'");
                if (!value.shape.SequenceEqual(target.shape))
                    throw ZipItException.Input($"--init {file}: '{key}' is [{string.Join(", ", value.shape)}], this run's model needs [{string.Join(", ", target.shape)}]");
                target.copy_(value);
            }
        }
        return new InitialWeights(file, Sha256Of(path), keepHead, init.Config);
    }

    /// <summary>The one setting that may differ: the head's width (a re-initialised head).</summary>
    private const string ClassesSetting = "classes";

    private static bool HeadFits(LoadedModel init, ArchitectureConfig config, TrainHead head, string task)
    {
        if (init.Config.Get(ClassesSetting, "") != config.Get(ClassesSetting, "")) return false;
        var initHead = init.Metadata.GetValueOrDefault(MetadataKeys.Head);
        if (initHead != head.ToString().ToLowerInvariant()) return false;
        if (head == TrainHead.Clip) return true;
        // Logit i is class i of a dataset: the same outputs only for the same dataset.
        static string Dataset(string t) => t.Split(':')[0];
        return init.Metadata.TryGetValue(MetadataKeys.Task, out var initTask) && Dataset(initTask) == Dataset(task);
    }

    /// <summary>SHA-256 (hex) of a checkpoint file's bytes, or of a folder's files in ordinal name order.</summary>
    private static string Sha256Of(string path)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var files = Directory.Exists(path)
            ? Directory.GetFiles(path, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray()
            : [path];
        var buffer = new byte[1 << 20];
        foreach (var f in files)
        {
            SpecialFiles.RequireRegular(f, f);
            using var stream = System.IO.File.OpenRead(f);
            int read;
            while ((read = stream.Read(buffer, 0, buffer.Length)) > 0) hash.AppendData(buffer, 0, read);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
