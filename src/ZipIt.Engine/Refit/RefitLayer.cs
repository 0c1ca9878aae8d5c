using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ZipIt.Engine.Refit;

/// <summary>
/// One conv or linear layer of a merged model that a refit solves for: its module path, its
/// geometry, which merge points its input channels and output channels belong to, and how its
/// inputs become the rows of a least-squares problem (a linear layer's feature vectors; a
/// convolution's patches, c_in·k_h·k_w features each, one per output position: im2col).
/// </summary>
internal sealed class RefitLayer
{
    private RefitLayer(string name, int stage, long inChannels, long outChannels, bool hasBias, long[]? kernel, long[] stride, long[] padding, long[] dilation,
        IReadOnlyList<ChannelSlice> inputs, IReadOnlyList<ChannelSlice> outputs)
    {
        Name = name;
        Stage = stage;
        InChannels = inChannels;
        OutChannels = outChannels;
        HasBias = hasBias;
        Kernel = kernel;
        Stride = stride;
        Padding = padding;
        Dilation = dilation;
        Inputs = inputs;
        Outputs = outputs;
    }

    /// <summary>The module path (<c>layer1.0.conv1</c>); its weight is <c>{Name}.weight</c>.</summary>
    public string Name { get; }

    /// <summary>The index of the stage that owns the layer.</summary>
    public int Stage { get; }

    public long InChannels { get; }
    public long OutChannels { get; }
    public bool HasBias { get; }

    /// <summary>The kernel (k_h, k_w) of a convolution; null for a linear layer.</summary>
    public long[]? Kernel { get; }

    public long[] Stride { get; }
    public long[] Padding { get; }
    public long[] Dilation { get; }

    /// <summary>The merge points of the input channels, in channel order, covering them all.</summary>
    public IReadOnlyList<ChannelSlice> Inputs { get; }

    /// <summary>The merge points of the output channels, in channel order, covering them all.</summary>
    public IReadOnlyList<ChannelSlice> Outputs { get; }

    public bool IsConvolution => Kernel is not null;

    /// <summary>The axis of the layer's input and output tensors that holds the channels: 1 for NCHW maps, the last for linear inputs.</summary>
    public int ChannelAxis(Tensor t) => IsConvolution ? 1 : (int)t.dim() - 1;

    /// <summary>Weights per output channel: c_in·k_h·k_w for a convolution, c_in for a linear layer.</summary>
    public long Weights => InChannels * (Kernel is { } k ? k[0] * k[1] : 1);

    /// <summary>The features of one least-squares row: <see cref="Weights"/>, and a constant 1 for the bias.</summary>
    public long Features => Weights + (HasBias ? 1 : 0);

    public override string ToString() => Name;

    /// <summary>
    /// A conv or linear module as a layer, or null (with <paramref name="why"/>) when its geometry is
    /// one the solve does not express: grouped or non-zero-padded convolutions, padding that differs
    /// between the two sides.
    /// </summary>
    public static RefitLayer? From(string name, nn.Module module, int stage, IReadOnlyList<ChannelSlice> inputs, IReadOnlyList<ChannelSlice> outputs, out string? why)
    {
        why = null;
        switch (module)
        {
            case Linear linear:
                return new RefitLayer(name, stage, linear.in_features, linear.out_features, linear.bias is not null, null, [1, 1], [0, 0], [1, 1], inputs, outputs);
            case Conv2d conv:
                if (conv.groups != 1) { why = $"a grouped convolution ({conv.groups} groups)"; return null; }
                if (conv.padding_mode != PaddingModes.Zeros) { why = $"padding mode {conv.padding_mode}"; return null; }
                long[] padding;
                if (conv.padding is { } given) padding = given;
                else if (conv.padding_type == TorchSharp.Padding.Valid) padding = [0, 0];
                else
                {
                    // 'same' pads dilation·(k − 1) in all; unfold pads both sides alike, so only an even total is expressible.
                    padding = new long[2];
                    for (var i = 0; i < 2; i++)
                    {
                        var total = conv.dilation[i] * (conv.kernel_size[i] - 1);
                        if (total % 2 != 0) { why = "'same' padding that differs between the two sides"; return null; }
                        padding[i] = total / 2;
                    }
                }
                if (conv.kernel_size.Length != 2 || conv.stride.Length != 2 || padding.Length != 2 || conv.dilation.Length != 2)
                {
                    why = "a convolution whose kernel, stride, padding or dilation is not two-dimensional";
                    return null;
                }
                return new RefitLayer(name, stage, conv.in_channels, conv.out_channels, conv.bias is not null, conv.kernel_size.ToArray(), conv.stride.ToArray(),
                    padding, conv.dilation.ToArray(), inputs, outputs);
            default:
                why = "neither a linear layer nor a 2-d convolution";
                return null;
        }
    }

    /// <summary>
    /// The layer's weights as the solve's unknowns, Θ = [Wᵀ; bᵀ]: [<see cref="Features"/>, out],
    /// float64, a convolution's kernel flattened in the order of unfold's patches (c_in, k_h, k_w).
    /// </summary>
    public Tensor Unknowns(Tensor weight, Tensor? bias)
    {
        RequireShape(weight, bias);
        using var scope = torch.NewDisposeScope();
        var w = weight.detach().reshape(OutChannels, Weights).t().to(ScalarType.Float64);
        var theta = HasBias ? torch.cat([w, bias!.detach().to(ScalarType.Float64).unsqueeze(0)], 0) : w.contiguous();
        return theta.MoveToOuterDisposeScope();
    }

    /// <summary>Writes Θ = [Wᵀ; bᵀ] back into <paramref name="weight"/> and <paramref name="bias"/> (in their own dtype).</summary>
    public void Assign(Tensor theta, Tensor weight, Tensor? bias)
    {
        RequireShape(weight, bias);
        if (theta.dim() != 2 || theta.shape[0] != Features || theta.shape[1] != OutChannels)
            throw new ArgumentException($"layer '{Name}': a solution [{Features}, {OutChannels}] is needed, got [{string.Join(",", theta.shape)}]");
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        weight.copy_(theta.narrow(0, 0, Weights).t().reshape(weight.shape).to(weight.dtype));
        if (HasBias) bias!.copy_(theta[Weights].to(bias.dtype));
    }

    /// <summary>
    /// Hands the least-squares rows of one batch to <paramref name="add"/> in chunks of at most
    /// <paramref name="maxElements"/> float64 elements (at least one image each): inputs
    /// [S, <see cref="Features"/>] with the constant 1 last when the layer has a bias, and targets
    /// [S, out], both float64 and freed after the call. Patches are unfolded chunk by chunk, so a
    /// batch's im2col (k_h·k_w times the input) is never held whole.
    /// </summary>
    /// <param name="input">The layer's input in the merged layout: [B, c_in, H, W] or [..., c_in].</param>
    /// <param name="target">The target output in the merged layout: [B, out, H', W'] or [..., out].</param>
    public void ForEachRows(Tensor input, Tensor target, long maxElements, Action<Tensor, Tensor> add)
    {
        RequireActivations(input, target);
        var images = input.shape[0];
        var rowsPerImage = IsConvolution ? target.shape[2] * target.shape[3] : target.numel() / Math.Max(1, images) / OutChannels;
        var perChunk = Math.Max(1, maxElements / Math.Max(1, rowsPerImage * (Features + OutChannels)));
        for (long start = 0; start < images; start += perChunk)
        {
            using var scope = torch.NewDisposeScope();
            var count = Math.Min(perChunk, images - start);
            var x = input.narrow(0, start, count);
            var y = target.narrow(0, start, count);
            Tensor rows, targets;
            if (IsConvolution)
            {
                // unfold: [b, c_in·k_h·k_w, L], L the output positions in row-major order, as the output's H'·W'.
                var patches = nn.functional.unfold(x, (Kernel![0], Kernel[1]), (Dilation[0], Dilation[1]), (Padding[0], Padding[1]), (Stride[0], Stride[1]));
                if (patches.shape[1] != Weights || patches.shape[2] != rowsPerImage)
                    throw new ArgumentException($"layer '{Name}': the input's patches are [{string.Join(",", patches.shape)}], the output has {rowsPerImage} positions of {Weights} weights");
                rows = patches.transpose(1, 2).reshape(-1, Weights);
                targets = y.permute(0, 2, 3, 1).reshape(-1, OutChannels);
            }
            else
            {
                rows = x.reshape(-1, InChannels);
                targets = y.reshape(-1, OutChannels);
            }
            rows = rows.to(ScalarType.Float64);
            if (HasBias) rows = torch.cat([rows, torch.ones(rows.shape[0], 1, ScalarType.Float64, rows.device)], 1);
            add(rows.contiguous(), targets.to(ScalarType.Float64).contiguous());
        }
    }

    /// <summary>Throws naming the layer unless <paramref name="input"/> and <paramref name="output"/> are this layer's input and output of one batch.</summary>
    public void RequireActivations(Tensor input, Tensor output)
    {
        string Shape(Tensor t) => $"[{string.Join(",", t.shape)}]";
        if (IsConvolution)
        {
            if (input.dim() != 4 || output.dim() != 4 || input.shape[1] != InChannels || output.shape[1] != OutChannels || input.shape[0] != output.shape[0])
                throw new ArgumentException($"layer '{Name}': input {Shape(input)} and output {Shape(output)} are not a convolution's from {InChannels} to {OutChannels} channels");
        }
        else if (input.dim() < 1 || output.dim() != input.dim() || input.shape[^1] != InChannels || output.shape[^1] != OutChannels
                 || !input.shape[..^1].SequenceEqual(output.shape[..^1]))
            throw new ArgumentException($"layer '{Name}': input {Shape(input)} and output {Shape(output)} are not a linear layer's from {InChannels} to {OutChannels} features");
    }

    private void RequireShape(Tensor weight, Tensor? bias)
    {
        if (weight.shape[0] != OutChannels || weight.numel() != OutChannels * Weights)
            throw new ArgumentException($"layer '{Name}': weight [{string.Join(",", weight.shape)}] is not [{OutChannels}, {Weights}]");
        if (HasBias != (bias is not null) || (bias is not null && (bias.dim() != 1 || bias.shape[0] != OutChannels)))
            throw new ArgumentException($"layer '{Name}': its bias does not fit {OutChannels} outputs");
    }
}
