using System.Globalization;

namespace ZipIt.Plugins.Vit;

/// <summary>
/// The <c>vit</c> family: timm's <c>VisionTransformer</c> (class token or none, token or average
/// pooling, <c>no_embed_class</c>, qkv bias, LayerScale) under timm's key names. Settings:
/// <c>width</c>, <c>depth</c>, <c>heads</c>, <c>mlp_hidden</c> (or <c>mlp_ratio</c> when
/// configuring), <c>patch</c>, <c>image_size</c>, <c>in_chans</c>, <c>classes</c>,
/// <c>class_token</c>, <c>global_pool</c> (token|avg), <c>no_embed_class</c>, <c>qkv_bias</c>,
/// <c>layer_scale</c> (true|false).
/// </summary>
public sealed class VitArchitecture : IArchitecture
{
    public const string FamilyName = "vit";

    /// <summary>Checkpoint metadata naming the head count (timm checkpoints do not record it; our fixtures do).</summary>
    public const string HeadsMetadataKey = "num_heads";

    /// <summary>The head count from a timm folder's <c>config.json</c> (<c>model_args.num_heads</c>).</summary>
    public const string ConfigHeadsMetadataKey = "config.model_args.num_heads";

    /// <summary>The timm model name from a timm folder's <c>config.json</c>, e.g. <c>vit_small_patch16_224.augreg_in21k</c>.</summary>
    public const string ConfigArchitectureMetadataKey = "config.architecture";

    /// <summary>The user's per-checkpoint setting (<c>--arch-set heads=N</c>) in <see cref="CheckpointSignature.Hints"/>.</summary>
    public const string HeadsHint = VitSpec.HeadsKey;

    public string Name => FamilyName;

    public string Description =>
        "Vision Transformers (timm VisionTransformer): ViT-Ti/S/B and DeiT-Ti/S patch16 224, CIFAR-size patch4 32 ViTs; " +
        "other shapes as vit-custom with width=, depth=, heads=, patch=, image_size=...";

    public IReadOnlyList<ArchitectureVariant> Variants { get; } =
        VitVariants.All.Select(v => v.ToArchitectureVariant()).ToArray();

    public ArchitectureConfig Configure(string variant, IReadOnlyDictionary<string, string>? settings = null)
    {
        var standard = VitVariants.All.FirstOrDefault(v => string.Equals(v.Name, variant, StringComparison.OrdinalIgnoreCase));
        if (standard is null && !string.Equals(variant, VitVariants.CustomName, StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException(
                $"unknown ViT variant '{variant}'; known: {string.Join(", ", VitVariants.All.Select(v => v.Name).Append(VitVariants.CustomName))}");
        var baseSpec = (standard ?? VitVariants.All.First(v => v.Name == "vit_pico_patch4_32")).Spec;
        return VitSpec.Override(baseSpec, settings ?? new Dictionary<string, string>()).ToConfig(standard?.Name);
    }

    public ArchitectureConfig? Recognize(CheckpointSignature checkpoint)
    {
        var proj = checkpoint.ShapeOf("patch_embed.proj.weight");
        var pos = checkpoint.ShapeOf("pos_embed");
        if (proj is not { Length: 4 } || pos is not { Length: 3 } || checkpoint.ShapeOf("blocks.0.attn.qkv.weight") is null) return null;
        var width = proj[0];
        if (proj[2] != proj[3])
            throw new ArgumentException($"'patch_embed.proj.weight' has shape [{Shape(proj)}]: only square patches are supported");
        if (pos[0] != 1 || pos[2] != width)
            throw new ArgumentException($"'pos_embed' has shape [{Shape(pos)}], expected [1, T, {width}] for a {width}-wide ViT");

        var depth = 0;
        while (checkpoint.ShapeOf($"blocks.{depth}.attn.qkv.weight") is { } qkv)
        {
            if (qkv.Length != 2 || qkv[0] != 3 * width || qkv[1] != width)
                throw new ArgumentException(
                    $"'blocks.{depth}.attn.qkv.weight' has shape [{Shape(qkv)}]; a fused qkv of a {width}-wide ViT is [{3 * width}, {width}] (rows q|k|v)");
            depth++;
        }
        var fc1 = checkpoint.ShapeOf("blocks.0.mlp.fc1.weight")
                  ?? throw new ArgumentException("'blocks.0.mlp.fc1.weight' is missing: a ViT block needs an MLP");
        var head = checkpoint.ShapeOf("head.weight")
                   ?? throw new ArgumentException("'head.weight' is missing: ViTs without a classifier head are not supported");
        if (fc1.Length != 2 || head.Length != 2) return null;

        var classToken = checkpoint.Tensors.ContainsKey("cls_token");
        var rows = pos[1];
        bool noEmbedClass;
        long patches;
        if (classToken && IsSquare(rows - 1)) (noEmbedClass, patches) = (false, rows - 1);
        else if (IsSquare(rows)) (noEmbedClass, patches) = (classToken, rows);
        else
            throw new ArgumentException(
                $"'pos_embed' has {rows} positions, which is no square grid of patches{(classToken ? " (with or without the class token)" : "")}");
        var grid = (long)Math.Round(Math.Sqrt(patches));

        VitPool pool;
        if (checkpoint.Tensors.ContainsKey("fc_norm.weight")) pool = VitPool.Average;
        else if (checkpoint.Tensors.ContainsKey("norm.weight") && classToken) pool = VitPool.Token;
        else if (checkpoint.Tensors.ContainsKey("norm.weight"))
            throw new ArgumentException("'norm.weight' without 'fc_norm.weight' or 'cls_token': average pooling after the final norm (timm fc_norm=False) is not supported");
        else
            throw new ArgumentException("neither 'norm.weight' nor 'fc_norm.weight' is present: ViTs without a final norm are not supported");

        var named = NamedVariant(checkpoint);
        var (heads, source) = Heads(checkpoint, width, named);
        if (heads < 1 || width % heads != 0)
            throw new ArgumentException($"heads={heads} ({source}) does not divide the width {width} of 'blocks.0.attn.qkv.weight'");

        var spec = new VitSpec((int)width, depth, heads, (int)fc1[0], (int)proj[2], (int)(grid * proj[2]), (int)proj[1], (int)head[0],
            classToken, pool, noEmbedClass, checkpoint.Tensors.ContainsKey("blocks.0.attn.qkv.bias"), checkpoint.Tensors.ContainsKey("blocks.0.ls1.gamma"));
        return spec.ToConfig(named?.Name, [$"heads: {heads}, {source}"]);
    }

    public StagedModel Create(ArchitectureConfig config) => new VisionTransformer(VitSpec.FromConfig(config));

    public MergeGraph Describe(ArchitectureConfig config) => VitGraphs.Describe(VitSpec.FromConfig(config));

    /// <summary>
    /// MuDSC's ViT setting (task models fine-tuned from one pretrained start) at a size a 2-core CPU
    /// trains in minutes: patch 4 at 32×32, width 64, depth 4, 4 heads (so that head pairing
    /// matters), MLP ratio 2, trained by AdamW (decoupled decay 0.05, batch 64) with a 10 % warm-up
    /// and cosine decay, 2-pixel crops, gradients clipped to norm 1, class-embedding logits at
    /// 20·cosine, on whole training splits. The start: 60 epochs at lr 2e-3 on all MNIST digits
    /// (97.75 % validation, 12 min); each fine-tune: 30 epochs at lr 1e-3 from it (20 gave 91.55 % on Fashion-MNIST 0–4). Measured against
    /// the earlier patch 8, depth 3, 2 heads and 4 epochs on 6,000 images, whose starts reached 60 %
    /// and whose merges none beat its own base models.
    /// </summary>
    public ExperimentProtocol Protocol { get; } = new()
    {
        Variant = "vit-custom",
        Settings = new Dictionary<string, string> { ["width"] = "64", ["depth"] = "4", ["heads"] = "4", ["mlp_ratio"] = "2", ["patch"] = "4" },
        Recipe = new Dictionary<string, string>
        {
            ["optimizer"] = "adamw", ["lr"] = "2e-3", ["weight-decay"] = "0.05", ["schedule"] = "cosine", ["warmup"] = "0.1", ["epochs"] = "60",
            ["batch-size"] = "64", ["crop-padding"] = "2", ["clip-grad-norm"] = "1", ["nesterov"] = "false", ["logit-scale"] = "20",
        },
        Pretrained = true,
        FineTuneRecipe = new Dictionary<string, string> { ["lr"] = "1e-3", ["epochs"] = "30" },
        // Fine-tunes of one start: every block's tokens tell the stream's matching far more than the
        // pooled token does (on the example pair Permute 21.1 → 43.4, ZipIt!5/18 46.3 → 86.2 avg).
        TapSets = [VitGraphs.BlocksTapSet],
    };

    /// <summary>The registered variant a timm folder's config names (its pretrained tag after '.' dropped), or null.</summary>
    private static VitVariant? NamedVariant(CheckpointSignature checkpoint)
    {
        if (!checkpoint.Metadata.TryGetValue(ConfigArchitectureMetadataKey, out var name)) return null;
        var dot = name.IndexOf('.');
        if (dot >= 0) name = name[..dot];
        return VitVariants.All.FirstOrDefault(v => string.Equals(v.Name, name, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// The head count and where it came from: the user's hint (which must not contradict what the
    /// checkpoint records), then the checkpoint's metadata, then the variant its timm config names,
    /// then timm's convention of 64-wide heads.
    /// </summary>
    private static (int Heads, string Source) Heads(CheckpointSignature checkpoint, long width, VitVariant? named)
    {
        if (checkpoint.Hints.TryGetValue(HeadsHint, out var hint))
        {
            var given = Count(hint, $"--arch-set {HeadsHint}");
            // A count the checkpoint records is what it was trained with; running it with another
            // gives wrong outputs with no other sign, so a contradiction is an error, not an override.
            foreach (var key in new[] { HeadsMetadataKey, ConfigHeadsMetadataKey })
                if (checkpoint.Metadata.TryGetValue(key, out var recorded) && Count(recorded, $"metadata '{key}'") != given)
                    throw new ArgumentException(
                        $"--arch-set {HeadsHint}={hint} contradicts the checkpoint's metadata '{key}' = {recorded}; drop --arch-set {HeadsHint} (the checkpoint records it)");
            if (named is not null && !checkpoint.Metadata.ContainsKey(ConfigHeadsMetadataKey) && named.Spec.Heads != given)
                throw new ArgumentException(
                    $"--arch-set {HeadsHint}={hint} contradicts the variant {named.Name} that metadata '{ConfigArchitectureMetadataKey}' names ({named.Spec.Heads} heads, which timm builds it with); drop --arch-set {HeadsHint}");
            return (given, $"from --arch-set {HeadsHint}");
        }
        foreach (var key in new[] { HeadsMetadataKey, ConfigHeadsMetadataKey })
            if (checkpoint.Metadata.TryGetValue(key, out var value))
                return (Count(value, $"metadata '{key}'"), $"from metadata '{key}'");
        // timm's create_model keeps the named variant's head count unless model_args sets num_heads
        // (read above), whatever other dimensions model_args changes.
        if (named is not null)
            return (named.Spec.Heads, $"from the variant {named.Name} named by metadata '{ConfigArchitectureMetadataKey}'");
        if (width % 64 == 0)
            return ((int)(width / 64), "from timm's head-dim-64 convention (the checkpoint does not record it; override with --arch-set heads=N)");
        throw new ArgumentException(
            $"the checkpoint does not record the head count of its {width}-wide attention ('blocks.0.attn.qkv.weight') and 64 does not divide the width; give it with --arch-set heads=N");
    }

    private static int Count(string value, string source) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 1
            ? n
            : throw new ArgumentException($"{source}: the head count must be a positive integer, got '{value}'");

    private static bool IsSquare(long n)
    {
        if (n < 1) return false;
        var r = (long)Math.Round(Math.Sqrt(n));
        return r * r == n;
    }

    private static string Shape(long[] shape) => string.Join(",", shape);
}
