using TorchSharp;
using TorchSharp.Modules;
using ZipIt;
using static TorchSharp.torch;

namespace MlpPlugin;

/// <summary>One stage per linear layer, so a partial zip can stop after any hidden layer.</summary>
internal sealed class Mlp : StagedModel
{
    private readonly ModuleList<Linear> layers = new();

    public Mlp(long[] sizes, bool bias) : base("Mlp")
    {
        for (var i = 0; i + 1 < sizes.Length; i++)
            layers.Add(nn.Linear(sizes[i], sizes[i + 1], hasBias: bias));
        RegisterComponents();
    }

    public override int StageCount => layers.Count;

    public override Tensor forward_stage(int stage, Tensor input)
    {
        // Images [B, C, H, W] enter flattened; `call` (not `forward`) so the engine's feature taps fire.
        var x = stage == 0 ? input.flatten(1) : input;
        var y = layers[stage].call(x);
        return stage < layers.Count - 1 ? nn.functional.relu(y) : y;
    }
}
