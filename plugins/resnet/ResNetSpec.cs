using System.Globalization;

namespace ZipIt.Plugins.ResNet;

/// <summary>Which module layout (and key naming) a ResNet follows.</summary>
public enum ResNetStyle
{
    /// <summary>The CIFAR ResNet of the ZipIt! paper: 3×3 stem, 3 stages, conv3×3+norm <c>shortcut</c>, <c>linear</c> head.</summary>
    Cifar,
    /// <summary>torchvision's ImageNet ResNet: 7×7 stem with max-pool, 4 stages, conv1×1+BN <c>downsample</c>, <c>fc</c> head.</summary>
    Torchvision,
}

/// <summary>The residual block type.</summary>
public enum ResNetBlock
{
    Basic,
    Bottleneck,
}

/// <summary>The normalisation layer after every conv.</summary>
public enum ResNetNorm
{
    BatchNorm,
    GroupNorm,
}

/// <summary>
/// The parsed, validated form of a ResNet <see cref="ArchitectureConfig"/>. Everything that
/// depends on the shape of the network (channel counts, which blocks have a projection shortcut,
/// layer counts) is derived here, once, so the models and the merge graph cannot disagree.
/// </summary>
public sealed class ResNetSpec
{
    public const string StyleKey = "style";
    public const string BlockKey = "block";
    public const string BlocksKey = "blocks";
    public const string WidthKey = "width";
    public const string ClassesKey = "classes";
    public const string NormKey = "norm";
    public const string GroupsKey = "groups";

    internal static readonly string[] Keys = [StyleKey, BlockKey, BlocksKey, WidthKey, ClassesKey, NormKey, GroupsKey];

    public const int DefaultGroups = 8;

    public ResNetSpec(ResNetStyle style, ResNetBlock block, IReadOnlyList<int> blocks, int width, int classes, ResNetNorm norm, int groups)
    {
        Style = style;
        Block = block;
        Blocks = blocks.ToArray();
        Width = width;
        Classes = classes;
        Norm = norm;
        Groups = groups;
        Validate();
    }

    public ResNetStyle Style { get; }
    public ResNetBlock Block { get; }
    /// <summary>Residual blocks per stage.</summary>
    public IReadOnlyList<int> Blocks { get; }
    /// <summary>CIFAR width multiplier (channels 16w/32w/64w); always 1 for torchvision.</summary>
    public int Width { get; }
    /// <summary>Output features of the final linear layer.</summary>
    public int Classes { get; }
    public ResNetNorm Norm { get; }
    /// <summary>GroupNorm group count; 0 with BatchNorm.</summary>
    public int Groups { get; }

    public int StageCount => Blocks.Count;
    public int Expansion => Block == ResNetBlock.Bottleneck ? 4 : 1;
    public int ConvsPerBlock => Block == ResNetBlock.Bottleneck ? 3 : 2;
    public int StemChannels => Style == ResNetStyle.Cifar ? 16 * Width : 64;

    /// <summary>Inner width ("planes") of stage <paramref name="stage"/> (1-based).</summary>
    public int Planes(int stage) => StemChannels << (stage - 1);

    /// <summary>Residual-stream width of stage <paramref name="stage"/> (1-based); stage 0 is the stem.</summary>
    public int StreamChannels(int stage) => stage == 0 ? StemChannels : Planes(stage) * Expansion;

    public int Stride(int stage, int block) => stage > 1 && block == 0 ? 2 : 1;

    /// <summary>Input channels of block <paramref name="block"/> of stage <paramref name="stage"/>.</summary>
    public int BlockInput(int stage, int block) => block == 0 ? StreamChannels(stage - 1) : StreamChannels(stage);

    /// <summary>
    /// True when the block needs a projection shortcut (shape change), exactly PyTorch's rule
    /// <c>stride != 1 or in_planes != planes * expansion</c>.
    /// </summary>
    public bool HasProjection(int stage, int block) => Stride(stage, block) != 1 || BlockInput(stage, block) != StreamChannels(stage);

    /// <summary>Submodule name of the projection shortcut inside a block.</summary>
    public string ShortcutName => Style == ResNetStyle.Cifar ? "shortcut" : "downsample";

    /// <summary>Name of the final linear layer.</summary>
    public string HeadName => Style == ResNetStyle.Cifar ? "linear" : "fc";

    /// <summary>The paper's m: stem conv + every block conv + the final linear; shortcut convs are not counted.</summary>
    public int LayerCount => 1 + Blocks.Sum() * ConvsPerBlock + 1;

    /// <summary>torchvision resnet50's shape ([3,4,6,3] bottlenecks), for the paper's "37/50" label.</summary>
    public bool IsStandardResNet50 => Style == ResNetStyle.Torchvision && Block == ResNetBlock.Bottleneck && Blocks.SequenceEqual([3, 4, 6, 3]);

    private void Validate()
    {
        var expectedStages = Style == ResNetStyle.Cifar ? 3 : 4;
        if (Style == ResNetStyle.Cifar && Block != ResNetBlock.Basic)
            throw new ArgumentException("CIFAR ResNets use basic blocks only (block=basic)");
        if (Blocks.Count != expectedStages)
            throw new ArgumentException($"'{BlocksKey}' needs {expectedStages} comma-separated block counts for style={StyleName(Style)}, got {Blocks.Count}");
        if (Blocks.Any(b => b < 1))
            throw new ArgumentException($"'{BlocksKey}' block counts must be at least 1, got {string.Join(",", Blocks)}");
        if (Width < 1) throw new ArgumentException($"'{WidthKey}' must be a positive integer, got {Width}");
        if (Style == ResNetStyle.Torchvision && Width != 1)
            throw new ArgumentException($"'{WidthKey}' applies to CIFAR ResNets only");
        if (Classes < 1) throw new ArgumentException($"'{ClassesKey}' must be a positive integer, got {Classes}");
        if (Norm == ResNetNorm.BatchNorm && Groups != 0)
            throw new ArgumentException($"'{GroupsKey}' applies to norm=gn only");
        if (Norm == ResNetNorm.GroupNorm)
        {
            if (Groups < 1) throw new ArgumentException($"'{GroupsKey}' must be a positive integer, got {Groups}");
            var widths = Enumerable.Range(1, StageCount).SelectMany(s => new[] { Planes(s), StreamChannels(s) }).Prepend(StemChannels);
            foreach (var c in widths)
                if (c % Groups != 0)
                    throw new ArgumentException($"GroupNorm with {Groups} groups does not divide {c} channels");
        }
    }

    /// <summary>
    /// The variant name of this shape: the registered name when the block counts are standard,
    /// else <c>resnet-cifar</c>/<c>resnet-basic</c>/<c>resnet-bottleneck</c>.
    /// </summary>
    public string VariantName
    {
        get
        {
            foreach (var v in ResNetVariants.All)
                if (v.Style == Style && v.Block == Block && v.Blocks.SequenceEqual(Blocks)) return v.Name;
            return GenericVariantName(Style, Block);
        }
    }

    internal static string GenericVariantName(ResNetStyle style, ResNetBlock block) =>
        style == ResNetStyle.Cifar ? "resnet-cifar" : block == ResNetBlock.Basic ? "resnet-basic" : "resnet-bottleneck";

    internal static string StyleName(ResNetStyle s) => s == ResNetStyle.Cifar ? "cifar" : "torchvision";
    internal static string BlockName(ResNetBlock b) => b == ResNetBlock.Basic ? "basic" : "bottleneck";
    internal static string NormName(ResNetNorm n) => n == ResNetNorm.BatchNorm ? "bn" : "gn";

    /// <summary>
    /// The canonical configuration: every setting that shapes the network is written out, so a
    /// configuration from <see cref="ResNetArchitecture.Recognize"/> equals the one from
    /// <see cref="ResNetArchitecture.Configure"/> for the same network.
    /// </summary>
    public ArchitectureConfig ToConfig()
    {
        var s = new Dictionary<string, string>
        {
            [StyleKey] = StyleName(Style),
            [BlockKey] = BlockName(Block),
            [BlocksKey] = string.Join(",", Blocks),
            [ClassesKey] = Classes.ToString(CultureInfo.InvariantCulture),
            [NormKey] = NormName(Norm),
        };
        if (Style == ResNetStyle.Cifar) s[WidthKey] = Width.ToString(CultureInfo.InvariantCulture);
        if (Norm == ResNetNorm.GroupNorm) s[GroupsKey] = Groups.ToString(CultureInfo.InvariantCulture);
        return new ArchitectureConfig(ResNetArchitecture.FamilyName, VariantName, s);
    }

    /// <summary>Parses a configuration (as produced by <see cref="ToConfig"/> or edited by hand); throws <see cref="ArgumentException"/>.</summary>
    public static ResNetSpec FromConfig(ArchitectureConfig config)
    {
        if (!string.Equals(config.Architecture, ResNetArchitecture.FamilyName, StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"configuration {config} is not a '{ResNetArchitecture.FamilyName}' configuration");
        var unknown = config.Settings.Keys.Where(k => !Keys.Contains(k)).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"unknown ResNet setting(s) {string.Join(", ", unknown.Select(k => $"'{k}'"))}; known: {string.Join(", ", Keys)}");
        var style = ParseStyle(Required(config, StyleKey));
        var block = ParseBlock(Required(config, BlockKey));
        var blocks = ParseBlocks(Required(config, BlocksKey));
        var width = config.Settings.ContainsKey(WidthKey) ? ParsePositive(config, WidthKey) : 1;
        var classes = ParsePositive(config, ClassesKey);
        var norm = ParseNorm(Required(config, NormKey));
        var groups = config.Settings.ContainsKey(GroupsKey) ? ParsePositive(config, GroupsKey)
            : norm == ResNetNorm.GroupNorm ? DefaultGroups : 0;
        return new ResNetSpec(style, block, blocks, width, classes, norm, groups);
    }

    private static string Required(ArchitectureConfig config, string key) =>
        config.Settings.TryGetValue(key, out var v) ? v : throw new ArgumentException($"ResNet setting '{key}' is missing in {config}");

    private static int ParsePositive(ArchitectureConfig config, string key) => ParsePositive(key, Required(config, key));

    internal static int ParsePositive(string key, string value)
    {
        if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) || i < 1)
            throw new ArgumentException($"ResNet setting '{key}' must be a positive integer, got '{value}'");
        return i;
    }

    internal static ResNetStyle ParseStyle(string v) => v switch
    {
        "cifar" => ResNetStyle.Cifar,
        "torchvision" => ResNetStyle.Torchvision,
        _ => throw new ArgumentException($"ResNet setting '{StyleKey}' must be 'cifar' or 'torchvision', got '{v}'"),
    };

    internal static ResNetBlock ParseBlock(string v) => v switch
    {
        "basic" => ResNetBlock.Basic,
        "bottleneck" => ResNetBlock.Bottleneck,
        _ => throw new ArgumentException($"ResNet setting '{BlockKey}' must be 'basic' or 'bottleneck', got '{v}'"),
    };

    internal static ResNetNorm ParseNorm(string v) => v switch
    {
        "bn" => ResNetNorm.BatchNorm,
        "gn" => ResNetNorm.GroupNorm,
        _ => throw new ArgumentException($"ResNet setting '{NormKey}' must be 'bn' or 'gn', got '{v}'"),
    };

    internal static int[] ParseBlocks(string v)
    {
        var parts = v.Split(',', StringSplitOptions.TrimEntries);
        var result = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out result[i]) || result[i] < 1)
                throw new ArgumentException($"ResNet setting '{BlocksKey}' must be comma-separated positive block counts such as '3,3,3', got '{v}'");
        return result;
    }
}
