using System.Globalization;

namespace ZipIt.Plugins.ResNet;

/// <summary>
/// The <c>resnet</c> family: CIFAR ResNets (ZipIt!/MuDSC reference layout, any width, BatchNorm or
/// GroupNorm) and torchvision ResNets (basic or bottleneck blocks). Settings: <c>style</c>
/// (cifar|torchvision), <c>block</c> (basic|bottleneck), <c>blocks</c> (per stage, e.g.
/// <c>3,3,3</c>), <c>width</c> (CIFAR multiplier), <c>classes</c>, <c>norm</c> (bn|gn),
/// <c>groups</c> (gn only).
/// </summary>
public sealed class ResNetArchitecture : IArchitecture
{
    public const string FamilyName = "resnet";

    /// <summary>Checkpoint metadata key naming the GroupNorm group count (not recoverable from shapes).</summary>
    public const string GroupsMetadataKey = "resnet.groups";

    public string Name => FamilyName;

    public string Description =>
        "ResNets: CIFAR ResNet-20/32/44/56 (width multiplier, BatchNorm or GroupNorm) and torchvision ResNet-18/34/50/101/152; " +
        "other block counts as resnet-cifar / resnet-basic / resnet-bottleneck with blocks=...";

    public IReadOnlyList<ArchitectureVariant> Variants { get; } =
        ResNetVariants.All.Select(v => v.ToArchitectureVariant()).ToArray();

    public ArchitectureConfig Configure(string variant, IReadOnlyDictionary<string, string>? settings = null)
    {
        settings ??= new Dictionary<string, string>();
        var unknown = settings.Keys.Where(k => !ResNetSpec.Keys.Contains(k)).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"unknown ResNet setting(s) {string.Join(", ", unknown.Select(k => $"'{k}'"))}; known: {string.Join(", ", ResNetSpec.Keys)}");

        ResNetStyle style;
        ResNetBlock block;
        int[]? blocks;
        int classes;
        var standard = ResNetVariants.All.FirstOrDefault(v => string.Equals(v.Name, variant, StringComparison.OrdinalIgnoreCase));
        if (standard is not null)
            (style, block, blocks, classes) = (standard.Style, standard.Block, standard.Blocks, standard.Classes);
        else
        {
            var generic = ResNetVariants.Generic.FirstOrDefault(v => string.Equals(v.Name, variant, StringComparison.OrdinalIgnoreCase));
            if (generic.Name is null)
                throw new ArgumentException(
                    $"unknown ResNet variant '{variant}'; known: {string.Join(", ", ResNetVariants.All.Select(v => v.Name).Concat(ResNetVariants.Generic.Select(g => g.Name)))}");
            (style, block, blocks, classes) = (generic.Style, generic.Block, null, generic.Classes);
        }

        // style and block are what the variant is; a different value is a contradiction, not an override.
        if (settings.TryGetValue(ResNetSpec.StyleKey, out var st) && ResNetSpec.ParseStyle(st) != style)
            throw new ArgumentException($"variant '{variant}' has style={ResNetSpec.StyleName(style)}, not '{st}'");
        if (settings.TryGetValue(ResNetSpec.BlockKey, out var bl) && ResNetSpec.ParseBlock(bl) != block)
            throw new ArgumentException($"variant '{variant}' has block={ResNetSpec.BlockName(block)}, not '{bl}'");

        if (settings.TryGetValue(ResNetSpec.BlocksKey, out var bs)) blocks = ResNetSpec.ParseBlocks(bs);
        if (blocks is null)
            throw new ArgumentException($"variant '{variant}' needs the '{ResNetSpec.BlocksKey}' setting, e.g. blocks={(style == ResNetStyle.Cifar ? "2,2,2" : "1,1,1,1")}");

        var width = settings.ContainsKey(ResNetSpec.WidthKey) ? Positive(settings, ResNetSpec.WidthKey) : 1;
        if (settings.ContainsKey(ResNetSpec.ClassesKey)) classes = Positive(settings, ResNetSpec.ClassesKey);
        var norm = settings.TryGetValue(ResNetSpec.NormKey, out var n) ? ResNetSpec.ParseNorm(n) : ResNetNorm.BatchNorm;
        var groups = settings.ContainsKey(ResNetSpec.GroupsKey) ? Positive(settings, ResNetSpec.GroupsKey)
            : norm == ResNetNorm.GroupNorm ? ResNetSpec.DefaultGroups : 0;
        return new ResNetSpec(style, block, blocks, width, classes, norm, groups).ToConfig();
    }

    public ArchitectureConfig? Recognize(CheckpointSignature checkpoint)
    {
        var conv1 = checkpoint.ShapeOf("conv1.weight");
        if (conv1 is not { Length: 4 } || checkpoint.ShapeOf("layer1.0.conv1.weight") is null) return null;

        ResNetStyle style;
        long[]? head;
        if ((head = checkpoint.ShapeOf("linear.weight")) is not null && conv1[2] == 3 && conv1[3] == 3) style = ResNetStyle.Cifar;
        else if ((head = checkpoint.ShapeOf("fc.weight")) is not null && conv1[2] == 7 && conv1[3] == 7) style = ResNetStyle.Torchvision;
        else return null;
        if (head.Length != 2) return null;

        var block = checkpoint.ShapeOf("layer1.0.conv3.weight") is not null ? ResNetBlock.Bottleneck : ResNetBlock.Basic;

        var blocks = new List<int>();
        while (checkpoint.ShapeOf($"layer{blocks.Count + 1}.0.conv1.weight") is not null)
        {
            var s = blocks.Count + 1;
            var count = 0;
            while (checkpoint.ShapeOf($"layer{s}.{count}.conv1.weight") is not null) count++;
            blocks.Add(count);
        }

        var width = 1;
        if (style == ResNetStyle.Cifar)
        {
            if (conv1[0] % 16 != 0) return null;
            width = (int)(conv1[0] / 16);
        }

        var norm = checkpoint.Tensors.ContainsKey("bn1.running_mean") ? ResNetNorm.BatchNorm : ResNetNorm.GroupNorm;
        var groups = 0;
        if (norm == ResNetNorm.GroupNorm)
        {
            groups = ResNetSpec.DefaultGroups;
            if (checkpoint.Metadata.TryGetValue(GroupsMetadataKey, out var g) &&
                (!int.TryParse(g, NumberStyles.Integer, CultureInfo.InvariantCulture, out groups) || groups < 1))
                return null;
        }

        try
        {
            return new ResNetSpec(style, block, blocks, width, (int)head[0], norm, groups).ToConfig();
        }
        catch (ArgumentException)
        {
            // Keys that look like a ResNet but describe no ResNet we can build (wrong stage count,
            // groups that do not divide the widths): not ours.
            return null;
        }
    }

    public StagedModel Create(ArchitectureConfig config)
    {
        var spec = ResNetSpec.FromConfig(config);
        return spec.Style == ResNetStyle.Cifar ? new CifarResNet(spec) : new TorchvisionResNet(spec);
    }

    public MergeGraph Describe(ArchitectureConfig config) => ResNetGraphs.Describe(ResNetSpec.FromConfig(config));

    /// <summary>ZipIt!'s CIFAR setting: ResNet-20×4 with BatchNorm, each model from its own seed, by the reference's recipe.</summary>
    public ExperimentProtocol Protocol { get; } = new()
    {
        Variant = "resnet20",
        Settings = new Dictionary<string, string> { ["width"] = "4", ["norm"] = "bn" },
    };

    private static int Positive(IReadOnlyDictionary<string, string> settings, string key) => ResNetSpec.ParsePositive(key, settings[key]);
}
