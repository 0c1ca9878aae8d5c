namespace ZipIt;

/// <summary>
/// Short-hand for describing a <see cref="FeatureSpace"/> in PyTorch module terms: "conv X writes
/// this space, BatchNorm Y follows it, conv Z reads it, observe the input of Z".
/// </summary>
public sealed class FeatureSpaceBuilder
{
    private readonly string _name;
    private readonly int _width;
    private readonly List<TensorAxis> _producers = [];
    private readonly List<TensorAxis> _consumers = [];
    private readonly List<TensorAxis> _norms = [];
    private readonly List<FeatureTap> _taps = [];
    private GroupStructure? _groups;
    private string? _groupTie;
    private bool _residual;

    /// <summary>Starts a space named <paramref name="name"/> with <paramref name="width"/> features.</summary>
    public FeatureSpaceBuilder(string name, int width)
    {
        _name = name;
        _width = width;
    }

    /// <summary>Output rows of <c>{module}.weight</c> (and <c>{module}.bias</c> when <paramref name="bias"/>).</summary>
    public FeatureSpaceBuilder ProducedBy(string module, bool bias = false)
    {
        _producers.Add(new TensorAxis($"{module}.weight", 0));
        if (bias) _producers.Add(new TensorAxis($"{module}.bias", 0, TensorKind.Bias));
        return this;
    }

    /// <summary>An arbitrary producer axis (embeddings, slices of fused tensors).</summary>
    public FeatureSpaceBuilder ProducedBy(TensorAxis axis)
    {
        _producers.Add(axis);
        return this;
    }

    /// <summary>A BatchNorm after a producer: weight, bias, running_mean, running_var.</summary>
    public FeatureSpaceBuilder BatchNorm(string module)
    {
        _norms.Add(new TensorAxis($"{module}.weight", 0, TensorKind.NormWeight));
        _norms.Add(new TensorAxis($"{module}.bias", 0, TensorKind.NormBias));
        _norms.Add(new TensorAxis($"{module}.running_mean", 0, TensorKind.RunningMean));
        _norms.Add(new TensorAxis($"{module}.running_var", 0, TensorKind.RunningVar));
        return this;
    }

    /// <summary>An affine GroupNorm or LayerNorm over the space: weight and bias.</summary>
    public FeatureSpaceBuilder AffineNorm(string module)
    {
        _norms.Add(new TensorAxis($"{module}.weight", 0, TensorKind.NormWeight));
        _norms.Add(new TensorAxis($"{module}.bias", 0, TensorKind.NormBias));
        return this;
    }

    /// <summary>Input columns (axis 1) of <c>{module}.weight</c>.</summary>
    public FeatureSpaceBuilder ConsumedBy(string module)
    {
        _consumers.Add(new TensorAxis($"{module}.weight", 1));
        return this;
    }

    /// <summary>An arbitrary consumer axis.</summary>
    public FeatureSpaceBuilder ConsumedBy(TensorAxis axis)
    {
        _consumers.Add(axis);
        return this;
    }

    /// <summary>Observe the input of <paramref name="module"/>.</summary>
    public FeatureSpaceBuilder TapInput(string module, int channelAxis = 1)
    {
        _taps.Add(new FeatureTap(module, TapSite.Input, channelAxis));
        return this;
    }

    /// <summary>Observe the output of <paramref name="module"/>.</summary>
    public FeatureSpaceBuilder TapOutput(string module, int channelAxis = 1)
    {
        _taps.Add(new FeatureTap(module, TapSite.Output, channelAxis));
        return this;
    }

    /// <summary>An arbitrary tap (slices of fused outputs).</summary>
    public FeatureSpaceBuilder Tap(FeatureTap tap)
    {
        _taps.Add(tap);
        return this;
    }

    /// <summary>The units form <paramref name="count"/> contiguous groups; <paramref name="tie"/> ties the group assignment to other spaces.</summary>
    public FeatureSpaceBuilder Grouped(int count, string? tie = null)
    {
        _groups = new GroupStructure(count);
        _groupTie = tie;
        return this;
    }

    /// <summary>Marks the space as a residual stream shared by several producers.</summary>
    public FeatureSpaceBuilder ResidualStream()
    {
        _residual = true;
        return this;
    }

    /// <summary>The space as declared so far (producers, consumers, norms, taps, groups).</summary>
    public FeatureSpace Build() => new(_name, _width)
    {
        Producers = _producers.ToArray(),
        Consumers = _consumers.ToArray(),
        Norms = _norms.ToArray(),
        Taps = _taps.ToArray(),
        Groups = _groups,
        GroupTie = _groupTie,
        IsResidualStream = _residual,
    };
}
