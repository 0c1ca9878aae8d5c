using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ZipIt.Plugins.Vit;

/// <summary>timm's <c>PatchEmbed</c>: a patch×patch conv with stride patch, then [B, C, H', W'] → [B, H'·W', C].</summary>
internal sealed class PatchEmbed : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d proj;

    public PatchEmbed(VitSpec spec) : base(nameof(PatchEmbed))
    {
        proj = nn.Conv2d(spec.InChans, spec.Width, spec.Patch, stride: spec.Patch, bias: true);
        register_module("proj", proj);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return proj.call(x).flatten(2).transpose(1, 2).MoveToOuterDisposeScope();
    }

    protected override void RegisterComponents() { }
}

/// <summary>
/// timm's <c>Attention</c>: one fused <c>qkv</c> Linear(C, 3C) whose rows are q|k|v, each
/// head-major (head h owns rows h·d..(h+1)·d of its block); softmax(q·kᵀ·d^-½)·v per head; the
/// heads concatenated in order into <c>proj</c>. <c>qkv</c> and <c>proj</c> are called with
/// <c>call</c>, so taps on the qkv output and the proj input fire.
/// </summary>
internal sealed class Attention : nn.Module<Tensor, Tensor>
{
    private readonly Linear qkv;
    private readonly Linear proj;
    private readonly int _heads;
    private readonly double _scale;

    public Attention(VitSpec spec) : base(nameof(Attention))
    {
        _heads = spec.Heads;
        _scale = Math.Pow(spec.HeadDim, -0.5);
        qkv = nn.Linear(spec.Width, 3L * spec.Width, hasBias: spec.QkvBias);
        proj = nn.Linear(spec.Width, spec.Width);
        register_module("qkv", qkv);
        register_module("proj", proj);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], n = x.shape[1], c = x.shape[2];
        var parts = qkv.call(x).reshape(b, n, 3, _heads, c / _heads).permute(2, 0, 3, 1, 4).unbind(0);
        var (q, k, v) = (parts[0], parts[1], parts[2]);
        var attention = torch.matmul(q.mul(_scale), k.transpose(-2, -1)).softmax(-1);
        var heads = torch.matmul(attention, v).transpose(1, 2).reshape(b, n, c);
        return proj.call(heads).MoveToOuterDisposeScope();
    }

    protected override void RegisterComponents() { }
}

/// <summary>timm's <c>Mlp</c>: <c>fc1</c>, exact (erf) GELU, <c>fc2</c>.</summary>
internal sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly Linear fc2;

    public Mlp(VitSpec spec) : base(nameof(Mlp))
    {
        fc1 = nn.Linear(spec.Width, spec.MlpHidden);
        fc2 = nn.Linear(spec.MlpHidden, spec.Width);
        register_module("fc1", fc1);
        register_module("fc2", fc2);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return fc2.call(nn.functional.gelu(fc1.call(x))).MoveToOuterDisposeScope();
    }

    protected override void RegisterComponents() { }
}

/// <summary>timm's <c>LayerScale</c>: x · gamma, one learned scale per channel.</summary>
internal sealed class LayerScale : nn.Module<Tensor, Tensor>
{
    private readonly Parameter gamma;

    public LayerScale(int width, double init) : base(nameof(LayerScale))
    {
        gamma = nn.Parameter(torch.full(width, init));
        register_parameter("gamma", gamma);
    }

    public override Tensor forward(Tensor x) => x.mul(gamma);

    protected override void RegisterComponents() { }
}

/// <summary>The blocks as <c>blocks.0</c>, <c>blocks.1</c>, ...; run one at a time by the model's stages.</summary>
internal sealed class BlockList : nn.Module
{
    public BlockList(IReadOnlyList<VitBlock> blocks) : base(nameof(BlockList))
    {
        Items = blocks;
        for (var i = 0; i < blocks.Count; i++) register_module(i.ToString(System.Globalization.CultureInfo.InvariantCulture), blocks[i]);
    }

    public IReadOnlyList<VitBlock> Items { get; }

    protected override void RegisterComponents() { }
}

/// <summary>Construction helpers: timm's default initialisation.</summary>
internal static class VitLayers
{
    /// <summary>
    /// timm's <c>trunc_normal_(t, std)</c>: normal with the given std, truncated to [-2, 2] (absolute
    /// bounds, as timm's defaults are, so for small std it is a plain normal). TorchSharp 0.107's
    /// <c>trunc_normal_</c> now and then writes an infinite or NaN value (erfinv at ±1, unclamped).
    /// </summary>
    public static void TruncatedNormal(Tensor t, double std)
    {
        using var _ = no_grad();
        t.normal_(0, std).clamp_(-2.0, 2.0);
    }

    /// <summary>
    /// timm's <c>init_weights</c> (mode ''): every Linear truncated-normal with std 0.02 and zero bias;
    /// the patch conv keeps PyTorch's default; LayerNorms 1/0 (TorchSharp's defaults).
    /// </summary>
    public static void Initialise(nn.Module root)
    {
        using var _ = no_grad();
        foreach (var (_, module) in root.named_modules())
        {
            if (module is not Linear linear) continue;
            TruncatedNormal(linear.weight, 0.02);
            linear.bias?.zero_();
        }
    }
}
