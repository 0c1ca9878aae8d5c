using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ZipIt.Plugins.Vit;

/// <summary>
/// timm's pre-norm transformer <c>Block</c>: x + ls1(attn(norm1(x))), then x + ls2(mlp(norm2(x))),
/// LayerNorm eps 1e-6; <c>ls1</c>/<c>ls2</c> only with LayerScale. Input and output are token-major
/// [B, T, C].
/// </summary>
/// <remarks>Intermediate tensors are disposed before <c>forward</c> returns: forward hooks must copy what they keep.</remarks>
public sealed class VitBlock : nn.Module<Tensor, Tensor>
{
    private readonly LayerNorm norm1;
    private readonly Attention attn;
    private readonly LayerScale? ls1;
    private readonly LayerNorm norm2;
    private readonly Mlp mlp;
    private readonly LayerScale? ls2;

    internal VitBlock(VitSpec spec) : base(nameof(VitBlock))
    {
        norm1 = nn.LayerNorm(spec.Width, VitSpec.LayerNormEps);
        attn = new Attention(spec);
        norm2 = nn.LayerNorm(spec.Width, VitSpec.LayerNormEps);
        mlp = new Mlp(spec);
        register_module("norm1", norm1);
        register_module("attn", attn);
        if (spec.LayerScale) register_module("ls1", ls1 = new LayerScale(spec.Width, VitSpec.LayerScaleInit));
        register_module("norm2", norm2);
        register_module("mlp", mlp);
        if (spec.LayerScale) register_module("ls2", ls2 = new LayerScale(spec.Width, VitSpec.LayerScaleInit));
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var a = attn.call(norm1.call(x));
        if (ls1 is not null) a = ls1.call(a);
        var h = x.add(a);
        var m = mlp.call(norm2.call(h));
        if (ls2 is not null) m = ls2.call(m);
        // Not in place: norm2's backward needs h as it was.
        return h.add(m).MoveToOuterDisposeScope();
    }

    protected override void RegisterComponents() { }
}
