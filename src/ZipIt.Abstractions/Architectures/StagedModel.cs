using TorchSharp;
using static TorchSharp.torch;

namespace ZipIt;

/// <summary>
/// A model whose forward pass is an ordered list of stages (<see cref="MergeGraph.Stages"/>), so
/// the engine can run "merged trunk, then one head per model" for partial zips without knowing the
/// architecture. Submodules must be registered under their PyTorch names so <c>state_dict()</c>
/// keys are the PyTorch keys, and must be invoked with <c>call(...)</c> (not <c>forward</c>) so
/// that the engine's feature taps (forward hooks) fire.
/// </summary>
public abstract class StagedModel : nn.Module<Tensor, Tensor>
{
    /// <summary>Names the module as TorchSharp does (<see cref="nn.Module"/>'s name).</summary>
    protected StagedModel(string name) : base(name) { }

    /// <summary>Number of stages; equals <c>MergeGraph.Stages.Count</c> for this model's configuration.</summary>
    public abstract int StageCount { get; }

    /// <summary>Runs stage <paramref name="stage"/> (0-based) on the previous stage's output (or the input image batch).</summary>
    public abstract Tensor forward_stage(int stage, Tensor input);

    /// <summary>All stages in order.</summary>
    public override Tensor forward(Tensor input) => forward_stages(input, 0, StageCount);

    /// <summary>Stages <paramref name="first"/> (inclusive) to <paramref name="end"/> (exclusive); intermediate tensors are disposed.</summary>
    public Tensor forward_stages(Tensor input, int first, int end)
    {
        if (first < 0 || end > StageCount || first > end)
            throw new ArgumentOutOfRangeException(nameof(first), $"stages [{first}, {end}) outside [0, {StageCount})");
        var x = input;
        for (var i = first; i < end; i++)
        {
            var y = forward_stage(i, x);
            if (!ReferenceEquals(x, input) && !ReferenceEquals(x, y)) x.Dispose();
            x = y;
        }
        return x;
    }
}
