using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ZipIt.Engine.Train;

/// <summary>
/// The optimiser a recipe describes (PyTorch's SGD or AdamW), with the recipe's schedule applied
/// before every step (as PyTorch's scheduler leaves it after the previous step) and the gradients'
/// global norm clipped first where the recipe says.
/// </summary>
internal sealed class RecipeOptimizer : IDisposable
{
    private readonly OptimizerHelper _optimizer;
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly TrainingRecipe _recipe;
    private readonly long _totalSteps;

    public RecipeOptimizer(IEnumerable<Parameter> parameters, TrainingRecipe recipe, long totalSteps)
    {
        _parameters = parameters.ToList();
        _recipe = recipe;
        _totalSteps = totalSteps;
        var (lr, momentum) = RecipeSchedule.At(recipe, 0, totalSteps);
        _optimizer = recipe.Optimizer switch
        {
            OptimizerKind.AdamW => torch.optim.AdamW(_parameters, lr, momentum, recipe.Beta2, recipe.Epsilon, recipe.WeightDecay),
            _ => torch.optim.SGD(_parameters, lr, momentum, weight_decay: recipe.WeightDecay, nesterov: recipe.Nesterov),
        };
    }

    /// <summary>The learning rate and momentum the last <see cref="Step"/> used.</summary>
    public (double LearningRate, double Momentum) Last { get; private set; }

    public void ZeroGrad() => _optimizer.zero_grad();

    /// <summary>Optimiser step number <paramref name="step"/> (0-based) on the gradients accumulated since <see cref="ZeroGrad"/>.</summary>
    public void Step(long step)
    {
        if (_recipe.GradientClipNorm is { } clip) torch.nn.utils.clip_grad_norm_(_parameters, clip);
        var (lr, momentum) = RecipeSchedule.At(_recipe, step, _totalSteps);
        foreach (var group in _optimizer.ParamGroups)
        {
            group.LearningRate = lr;
            switch ((group as ParamGroup)?.Options)
            {
                case SGD.Options sgd: sgd.momentum = momentum; break;
                case AdamW.Options adam: adam.beta1 = momentum; break;
                default: throw new InvalidOperationException($"unexpected parameter group {group.GetType().Name}");
            }
        }
        _optimizer.step();
        Last = (lr, momentum);
    }

    /// <summary>
    /// The optimiser's buffers, for <see cref="TrainState"/>: per parameter i (in
    /// <c>parameters()</c> order) <c>i/momentum_buffer</c> (SGD, once the first step made it), or
    /// <c>i/exp_avg</c>, <c>i/exp_avg_sq</c> and <c>i/step</c> (AdamW). Copies on the CPU.
    /// </summary>
    public IEnumerable<KeyValuePair<string, Tensor>> StateTensors()
    {
        var states = _optimizer.state_dict().State;
        for (var i = 0; i < states.Count; i++)
        {
            switch (states[i])
            {
                case SGD.State sgd when sgd.momentum_buffer is not null:
                    yield return new($"{i}/momentum_buffer", sgd.momentum_buffer.detach().cpu());
                    break;
                case AdamW.State adam:
                    yield return new($"{i}/exp_avg", adam.exp_avg.detach().cpu());
                    yield return new($"{i}/exp_avg_sq", adam.exp_avg_sq.detach().cpu());
                    yield return new($"{i}/step", torch.tensor(adam.step));
                    break;
            }
        }
    }

    /// <summary>
    /// Puts back what <see cref="StateTensors"/> gave (on each parameter's device); false when
    /// <paramref name="tensors"/> does not fit this optimiser's parameters. The learning rate and
    /// momentum are not part of it: the schedule sets them at every step.
    /// </summary>
    public bool LoadState(IReadOnlyDictionary<string, Tensor> tensors)
    {
        var states = _optimizer.state_dict().State;
        if (states.Count != _parameters.Count) return false;
        foreach (var (key, value) in tensors)
        {
            var slash = key.IndexOf('/');
            if (slash < 1 || !int.TryParse(key.AsSpan(0, slash), out var i) || i < 0 || i >= states.Count) return false;
            var name = key[(slash + 1)..];
            var isStep = states[i] is AdamW.State && name == "step";
            if (!isStep && (!value.shape.SequenceEqual(_parameters[i].shape) || value.dtype != _parameters[i].dtype)) return false;
            switch (states[i], name)
            {
                case (SGD.State, "momentum_buffer"): break;
                case (AdamW.State, "exp_avg" or "exp_avg_sq"): break;
                case (AdamW.State, "step") when value.dtype == ScalarType.Int64 && value.numel() == 1: break;
                default: return false;
            }
        }
        using var noGrad = torch.no_grad();
        for (var i = 0; i < states.Count; i++)
        {
            var device = _parameters[i].device;
            switch (states[i])
            {
                case SGD.State sgd:
                    sgd.momentum_buffer?.Dispose();
                    sgd.momentum_buffer = tensors.TryGetValue($"{i}/momentum_buffer", out var buffer) ? buffer.to(device, copy: true).DetachFromDisposeScope() : null;
                    break;
                case AdamW.State adam:
                    if (!tensors.TryGetValue($"{i}/exp_avg", out var avg) || !tensors.TryGetValue($"{i}/exp_avg_sq", out var sq) || !tensors.TryGetValue($"{i}/step", out var step))
                        return false;
                    adam.exp_avg.copy_(avg);
                    adam.exp_avg_sq.copy_(sq);
                    adam.step = step.item<long>();
                    break;
            }
        }
        return true;
    }

    public void Dispose() => _optimizer.Dispose();
}
