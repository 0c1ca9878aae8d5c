using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ZipIt.Train;

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

    public void Dispose() => _optimizer.Dispose();
}
