using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ZipIt.Engine.Train;

/// <summary>
/// bfloat16 mixed-precision steps with float32 master weights (TorchSharp has no autocast): before
/// each step the master weights are rounded into the bfloat16 model, which runs forward and
/// backward; its gradients are widened into the master parameters' gradients, which the optimiser
/// (and gradient clipping) then uses, so the optimiser state and the updates stay float32. Buffers
/// (BatchNorm running statistics) evolve in the bfloat16 model and are copied back at the end.
/// </summary>
internal sealed class MixedPrecision
{
    private readonly nn.Module _master;
    private readonly nn.Module _low;
    private readonly IReadOnlyList<Parameter> _masterParameters;
    private readonly IReadOnlyList<Parameter> _lowParameters;

    public MixedPrecision(nn.Module master, nn.Module low)
    {
        _master = master;
        _low = low;
        _masterParameters = master.parameters().ToList();
        _lowParameters = low.parameters().ToList();
        if (_masterParameters.Count != _lowParameters.Count)
            throw new InvalidOperationException($"the bfloat16 model has {_lowParameters.Count} parameters, the master {_masterParameters.Count}");
        low.train();
        // Buffers start where the master's are (an --init model's BatchNorm statistics).
        Copy(master, low);
        // Gives every master parameter a gradient tensor to overwrite (TorchSharp cannot assign .grad).
        using var scope = NewDisposeScope();
        torch.stack(_masterParameters.Select(p => p.sum()).ToArray()).sum().mul(0).backward();
    }

    public void LoadMasterWeights()
    {
        using var noGrad = torch.no_grad();
        for (var i = 0; i < _masterParameters.Count; i++) _lowParameters[i].copy_(_masterParameters[i]);
    }

    public void StoreGradients()
    {
        using var noGrad = torch.no_grad();
        for (var i = 0; i < _masterParameters.Count; i++)
        {
            var grad = _lowParameters[i].grad;
            if (grad is null) _masterParameters[i].grad!.zero_();
            else _masterParameters[i].grad!.copy_(grad);
        }
    }

    public void StoreBuffers() => Copy(_low, _master);

    /// <summary>The master's buffers into the bfloat16 model (after a resumed state replaced them).</summary>
    public void LoadMasterBuffers() => Copy(_master, _low);

    private static void Copy(nn.Module from, nn.Module to)
    {
        using var noGrad = torch.no_grad();
        var source = from.named_buffers().ToDictionary(b => b.name, b => b.buffer);
        foreach (var (name, buffer) in to.named_buffers())
            if (source.TryGetValue(name, out var value)) buffer.copy_(value);
    }
}
