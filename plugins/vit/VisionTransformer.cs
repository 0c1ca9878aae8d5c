using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ZipIt.Plugins.Vit;

/// <summary>
/// timm's <c>VisionTransformer</c> under timm's key names: <c>patch_embed.proj</c>,
/// <c>cls_token</c> [1, 1, C] (optional), <c>pos_embed</c> [1, T, C], <c>blocks.N</c>
/// (<see cref="VitBlock"/>), then <c>norm</c> + class token, or mean of the patch tokens +
/// <c>fc_norm</c>, then <c>head</c>. Stages: <c>embed</c> (patches, class token, position
/// embedding), <c>blocks.0</c> … <c>blocks.{L-1}</c> (each [B, T, C] → [B, T, C]), <c>head</c>.
/// </summary>
public sealed class VisionTransformer : StagedModel
{
    private readonly PatchEmbed patch_embed;
    private readonly Parameter? cls_token;
    private readonly Parameter pos_embed;
    private readonly BlockList blocks;
    private readonly LayerNorm? norm;
    private readonly LayerNorm? fc_norm;
    private readonly Linear head;

    internal VisionTransformer(VitSpec spec) : base(nameof(VisionTransformer))
    {
        Spec = spec;
        if (spec.ClassToken) register_parameter("cls_token", cls_token = nn.Parameter(torch.zeros(1, 1, spec.Width)));
        register_parameter("pos_embed", pos_embed = nn.Parameter(torch.zeros(1, spec.PositionRows, spec.Width)));
        register_module("patch_embed", patch_embed = new PatchEmbed(spec));
        register_module("blocks", blocks = new BlockList(Enumerable.Range(0, spec.Depth).Select(_ => new VitBlock(spec)).ToArray()));
        if (spec.Pool == VitPool.Token) register_module("norm", norm = nn.LayerNorm(spec.Width, VitSpec.LayerNormEps));
        else register_module("fc_norm", fc_norm = nn.LayerNorm(spec.Width, VitSpec.LayerNormEps));
        register_module("head", head = nn.Linear(spec.Width, spec.Classes));

        VitLayers.Initialise(this);
        using var _ = no_grad();
        VitLayers.TruncatedNormal(pos_embed, 0.02);
        if (cls_token is not null) nn.init.normal_(cls_token, std: 1e-6);
    }

    public VitSpec Spec { get; }

    /// <summary>embed, one per block, head.</summary>
    public override int StageCount => Spec.Depth + 2;

    public override Tensor forward_stage(int stage, Tensor input)
    {
        if (stage == 0) return Embed(input);
        if (stage <= Spec.Depth) return blocks.Items[stage - 1].call(input);
        if (stage == Spec.Depth + 1) return Head(input);
        throw new ArgumentOutOfRangeException(nameof(stage), $"stage {stage} outside [0, {StageCount})");
    }

    private Tensor Embed(Tensor images)
    {
        var s = Spec;
        if (images.dim() != 4 || images.shape[1] != s.InChans || images.shape[2] != s.ImageSize || images.shape[3] != s.ImageSize)
            throw new ArgumentException(
                $"this ViT takes images [N, {s.InChans}, {s.ImageSize}, {s.ImageSize}] (its position embedding is fixed), got [{string.Join(",", images.shape)}]");
        using var scope = NewDisposeScope();
        var x = patch_embed.call(images);
        var b = x.shape[0];
        if (s.NoEmbedClass)
        {
            x = x.add(pos_embed);
            if (cls_token is not null) x = torch.cat([cls_token.expand(b, -1, -1), x], 1);
        }
        else
        {
            if (cls_token is not null) x = torch.cat([cls_token.expand(b, -1, -1), x], 1);
            x = x.add(pos_embed);
        }
        return x.MoveToOuterDisposeScope();
    }

    private Tensor Head(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        // LayerNorm is per token, so normalising the class token alone equals timm's norm-then-pool.
        var pooled = Spec.Pool == VitPool.Token
            ? norm!.call(tokens.select(1, 0))
            : fc_norm!.call(tokens.narrow(1, Spec.PrefixTokens, Spec.Patches).mean([1]));
        return head.call(pooled).MoveToOuterDisposeScope();
    }

    protected override void RegisterComponents() { }
}
