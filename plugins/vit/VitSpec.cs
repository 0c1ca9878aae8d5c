using System.Globalization;

namespace ZipIt.Plugins.Vit;

/// <summary>How the head reads the token sequence (timm's <c>global_pool</c>).</summary>
public enum VitPool
{
    /// <summary>The class token after the final <c>norm</c>.</summary>
    Token,
    /// <summary>The mean of the patch tokens (the class token excluded), then <c>fc_norm</c>; <c>norm</c> is Identity.</summary>
    Average,
}

/// <summary>
/// The parsed, validated form of a ViT <see cref="ArchitectureConfig"/>: everything the model and
/// its merge graph derive from (widths, token counts, which optional tensors exist), in one place
/// so the two cannot disagree.
/// </summary>
public sealed class VitSpec
{
    public const string WidthKey = "width";
    public const string DepthKey = "depth";
    public const string HeadsKey = "heads";
    public const string MlpHiddenKey = "mlp_hidden";
    /// <summary>Accepted by <see cref="VitArchitecture.Configure"/> instead of <see cref="MlpHiddenKey"/>: hidden = int(width × ratio), as timm computes it.</summary>
    public const string MlpRatioKey = "mlp_ratio";
    public const string PatchKey = "patch";
    public const string ImageSizeKey = "image_size";
    public const string InChansKey = "in_chans";
    public const string ClassesKey = "classes";
    public const string ClassTokenKey = "class_token";
    public const string GlobalPoolKey = "global_pool";
    public const string NoEmbedClassKey = "no_embed_class";
    public const string QkvBiasKey = "qkv_bias";
    public const string LayerScaleKey = "layer_scale";

    /// <summary>The keys a canonical configuration carries (all of them, always).</summary>
    internal static readonly string[] Keys =
    [
        WidthKey, DepthKey, HeadsKey, MlpHiddenKey, PatchKey, ImageSizeKey, InChansKey, ClassesKey,
        ClassTokenKey, GlobalPoolKey, NoEmbedClassKey, QkvBiasKey, LayerScaleKey,
    ];

    /// <summary>timm's LayerNorm epsilon for ViTs.</summary>
    public const double LayerNormEps = 1e-6;

    /// <summary>LayerScale's initial value for freshly created models (timm's DeiT-III/CaiT choice).</summary>
    public const double LayerScaleInit = 1e-5;

    public VitSpec(int width, int depth, int heads, int mlpHidden, int patch, int imageSize, int inChans, int classes,
        bool classToken, VitPool pool, bool noEmbedClass, bool qkvBias, bool layerScale)
    {
        Width = width;
        Depth = depth;
        Heads = heads;
        MlpHidden = mlpHidden;
        Patch = patch;
        ImageSize = imageSize;
        InChans = inChans;
        Classes = classes;
        ClassToken = classToken;
        Pool = pool;
        // Without a class token the position embedding covers the patches either way: one network.
        NoEmbedClass = classToken && noEmbedClass;
        QkvBias = qkvBias;
        LayerScale = layerScale;
        Validate();
    }

    /// <summary>Embedding dimension C (timm's <c>embed_dim</c>).</summary>
    public int Width { get; }
    public int Depth { get; }
    public int Heads { get; }
    /// <summary>Hidden units of each block's MLP.</summary>
    public int MlpHidden { get; }
    public int Patch { get; }
    public int ImageSize { get; }
    public int InChans { get; }
    public int Classes { get; }
    public bool ClassToken { get; }
    public VitPool Pool { get; }
    /// <summary>The position embedding covers the patches only; the class token is concatenated after adding it.</summary>
    public bool NoEmbedClass { get; }
    public bool QkvBias { get; }
    /// <summary>Each block scales its attention and MLP outputs by <c>ls1.gamma</c>/<c>ls2.gamma</c>.</summary>
    public bool LayerScale { get; }

    public int HeadDim => Width / Heads;
    public int Grid => ImageSize / Patch;
    public int Patches => Grid * Grid;
    public int PrefixTokens => ClassToken ? 1 : 0;
    /// <summary>Tokens through the blocks.</summary>
    public int Tokens => Patches + PrefixTokens;
    /// <summary>Rows of <c>pos_embed</c>.</summary>
    public int PositionRows => NoEmbedClass ? Patches : Tokens;

    /// <summary>The paper's m: patch embedding, qkv/proj/fc1/fc2 per block, head.</summary>
    public int LayerCount => 4 * Depth + 2;

    private void Validate()
    {
        Positive(WidthKey, Width);
        Positive(DepthKey, Depth);
        Positive(HeadsKey, Heads);
        Positive(MlpHiddenKey, MlpHidden);
        Positive(PatchKey, Patch);
        Positive(ImageSizeKey, ImageSize);
        Positive(InChansKey, InChans);
        Positive(ClassesKey, Classes);
        if (Width % Heads != 0)
            throw new ArgumentException($"ViT setting '{HeadsKey}': {Heads} heads do not divide the width {Width}");
        if (ImageSize % Patch != 0)
            throw new ArgumentException($"ViT setting '{ImageSizeKey}': {ImageSize} is not a multiple of the patch size {Patch}");
        if (Pool == VitPool.Token && !ClassToken)
            throw new ArgumentException($"ViT setting '{GlobalPoolKey}=token' needs a class token (class_token=true)");
    }

    private static void Positive(string key, int value)
    {
        if (value < 1) throw new ArgumentException($"ViT setting '{key}' must be a positive integer, got {value}");
    }

    /// <summary>Equal networks: every setting but the class count agrees (the variants' identity).</summary>
    internal bool SameShapeAs(VitSpec o) =>
        Width == o.Width && Depth == o.Depth && Heads == o.Heads && MlpHidden == o.MlpHidden && Patch == o.Patch &&
        ImageSize == o.ImageSize && InChans == o.InChans && ClassToken == o.ClassToken && Pool == o.Pool &&
        NoEmbedClass == o.NoEmbedClass && QkvBias == o.QkvBias && LayerScale == o.LayerScale;

    /// <summary>
    /// The variant name of this shape: <paramref name="preferred"/> when it is a registered variant of
    /// this shape (DeiT and ViT variants share shapes), else the first registered one, else
    /// <c>vit-custom</c>.
    /// </summary>
    internal string VariantName(string? preferred)
    {
        var matching = VitVariants.All.Where(v => v.Spec.SameShapeAs(this)).ToList();
        return matching.FirstOrDefault(v => string.Equals(v.Name, preferred, StringComparison.OrdinalIgnoreCase))?.Name
               ?? matching.FirstOrDefault()?.Name
               ?? VitVariants.CustomName;
    }

    /// <summary>
    /// The canonical configuration: every setting written out, so a configuration from
    /// <see cref="VitArchitecture.Recognize"/> equals the one from <see cref="VitArchitecture.Configure"/>
    /// for the same network.
    /// </summary>
    public ArchitectureConfig ToConfig(string? preferredVariant = null, IReadOnlyList<string>? notes = null) =>
        new(VitArchitecture.FamilyName, VariantName(preferredVariant), new Dictionary<string, string>
        {
            [WidthKey] = Int(Width),
            [DepthKey] = Int(Depth),
            [HeadsKey] = Int(Heads),
            [MlpHiddenKey] = Int(MlpHidden),
            [PatchKey] = Int(Patch),
            [ImageSizeKey] = Int(ImageSize),
            [InChansKey] = Int(InChans),
            [ClassesKey] = Int(Classes),
            [ClassTokenKey] = Bool(ClassToken),
            [GlobalPoolKey] = PoolName(Pool),
            [NoEmbedClassKey] = Bool(NoEmbedClass),
            [QkvBiasKey] = Bool(QkvBias),
            [LayerScaleKey] = Bool(LayerScale),
        }) { Notes = notes ?? [] };

    /// <summary>Parses a configuration (as written by <see cref="ToConfig"/>); throws <see cref="ArgumentException"/>.</summary>
    public static VitSpec FromConfig(ArchitectureConfig config)
    {
        if (!string.Equals(config.Architecture, VitArchitecture.FamilyName, StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"configuration {config} is not a '{VitArchitecture.FamilyName}' configuration");
        CheckKnown(config.Settings.Keys, allowRatio: false);
        string Required(string key) => config.Settings.TryGetValue(key, out var v) ? v : throw new ArgumentException($"ViT setting '{key}' is missing in {config}");
        return new VitSpec(
            ParseInt(WidthKey, Required(WidthKey)), ParseInt(DepthKey, Required(DepthKey)), ParseInt(HeadsKey, Required(HeadsKey)),
            ParseInt(MlpHiddenKey, Required(MlpHiddenKey)), ParseInt(PatchKey, Required(PatchKey)), ParseInt(ImageSizeKey, Required(ImageSizeKey)),
            ParseInt(InChansKey, Required(InChansKey)), ParseInt(ClassesKey, Required(ClassesKey)),
            ParseBool(ClassTokenKey, Required(ClassTokenKey)), ParsePool(Required(GlobalPoolKey)), ParseBool(NoEmbedClassKey, Required(NoEmbedClassKey)),
            ParseBool(QkvBiasKey, Required(QkvBiasKey)), ParseBool(LayerScaleKey, Required(LayerScaleKey)));
    }

    /// <summary>
    /// <paramref name="baseSpec"/> with <paramref name="settings"/> applied (any key of
    /// <see cref="Keys"/>, or <c>mlp_ratio</c> instead of <c>mlp_hidden</c>).
    /// </summary>
    internal static VitSpec Override(VitSpec baseSpec, IReadOnlyDictionary<string, string> settings)
    {
        CheckKnown(settings.Keys, allowRatio: true);
        int I(string key, int fallback) => settings.TryGetValue(key, out var v) ? ParseInt(key, v) : fallback;
        bool B(string key, bool fallback) => settings.TryGetValue(key, out var v) ? ParseBool(key, v) : fallback;
        var width = I(WidthKey, baseSpec.Width);
        if (settings.ContainsKey(MlpRatioKey) && settings.ContainsKey(MlpHiddenKey))
            throw new ArgumentException($"give one of the ViT settings '{MlpRatioKey}' and '{MlpHiddenKey}', not both");
        int hidden;
        if (settings.TryGetValue(MlpRatioKey, out var r))
        {
            if (!double.TryParse(r, NumberStyles.Float, CultureInfo.InvariantCulture, out var ratio) || !(ratio > 0) || double.IsInfinity(ratio))
                throw new ArgumentException($"ViT setting '{MlpRatioKey}' must be a positive number, got '{r}'");
            hidden = (int)(width * ratio);
        }
        else if (settings.ContainsKey(MlpHiddenKey)) hidden = I(MlpHiddenKey, 0);
        else hidden = width == baseSpec.Width ? baseSpec.MlpHidden : width * baseSpec.MlpHidden / baseSpec.Width;
        var pool = settings.TryGetValue(GlobalPoolKey, out var p) ? ParsePool(p) : baseSpec.Pool;
        return new VitSpec(width, I(DepthKey, baseSpec.Depth), I(HeadsKey, baseSpec.Heads), hidden, I(PatchKey, baseSpec.Patch),
            I(ImageSizeKey, baseSpec.ImageSize), I(InChansKey, baseSpec.InChans), I(ClassesKey, baseSpec.Classes),
            B(ClassTokenKey, baseSpec.ClassToken), pool, B(NoEmbedClassKey, baseSpec.NoEmbedClass), B(QkvBiasKey, baseSpec.QkvBias),
            B(LayerScaleKey, baseSpec.LayerScale));
    }

    private static void CheckKnown(IEnumerable<string> keys, bool allowRatio)
    {
        var unknown = keys.Where(k => !Keys.Contains(k) && !(allowRatio && k == MlpRatioKey)).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException(
                $"unknown ViT setting(s) {string.Join(", ", unknown.Select(k => $"'{k}'"))}; known: {string.Join(", ", allowRatio ? Keys.Append(MlpRatioKey) : Keys)}");
    }

    internal static int ParseInt(string key, string value)
    {
        if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) || i < 1)
            throw new ArgumentException($"ViT setting '{key}' must be a positive integer, got '{value}'");
        return i;
    }

    internal static bool ParseBool(string key, string value) => value switch
    {
        "true" => true,
        "false" => false,
        _ => throw new ArgumentException($"ViT setting '{key}' must be 'true' or 'false', got '{value}'"),
    };

    internal static VitPool ParsePool(string value) => value switch
    {
        "token" => VitPool.Token,
        "avg" => VitPool.Average,
        _ => throw new ArgumentException($"ViT setting '{GlobalPoolKey}' must be 'token' or 'avg', got '{value}'"),
    };

    internal static string PoolName(VitPool pool) => pool == VitPool.Token ? "token" : "avg";

    private static string Int(int i) => i.ToString(CultureInfo.InvariantCulture);
    private static string Bool(bool b) => b ? "true" : "false";
}
