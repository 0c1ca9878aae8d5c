using TorchSharp;
using TorchSharp.Modules;
using ZipIt;
using static TorchSharp.torch;

namespace MyZipItPlugin;

/// <summary>
/// conv3×3 → BatchNorm → ReLU, twice, then global average pooling and a linear head. Three stages,
/// so a partial zip can stop after either conv block. Submodules carry their PyTorch names, so the
/// state-dict keys are what the same model saved from PyTorch would have.
/// </summary>
public sealed class TinyConv : StagedModel
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Linear head;

    /// <summary>A model reading <paramref name="channels"/> input channels, <paramref name="width"/> and 2·width feature channels, <paramref name="classes"/> outputs.</summary>
    public TinyConv(long channels, long width, long classes) : base(nameof(TinyConv))
    {
        conv1 = nn.Conv2d(channels, width, 3, padding: 1, bias: false);
        bn1 = nn.BatchNorm2d(width);
        conv2 = nn.Conv2d(width, 2 * width, 3, padding: 1, bias: false);
        bn2 = nn.BatchNorm2d(2 * width);
        head = nn.Linear(2 * width, classes);
        register_module("conv1", conv1);
        register_module("bn1", bn1);
        register_module("conv2", conv2);
        register_module("bn2", bn2);
        register_module("head", head);
    }

    /// <inheritdoc />
    public override int StageCount => 3;

    /// <inheritdoc />
    public override Tensor forward_stage(int stage, Tensor input)
    {
        using var scope = NewDisposeScope();
        // `call` (not `forward`) so that the engine's feature taps (forward hooks) fire.
        var output = stage switch
        {
            0 => nn.functional.relu(bn1.call(conv1.call(input))),
            1 => nn.functional.relu(bn2.call(conv2.call(input))),
            2 => head.call(input.mean([2, 3])),
            _ => throw new ArgumentOutOfRangeException(nameof(stage), $"stage {stage} outside [0, 3)"),
        };
        return output.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override void RegisterComponents() { }
}
