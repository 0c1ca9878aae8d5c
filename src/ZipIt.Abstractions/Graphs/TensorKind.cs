namespace ZipIt;

/// <summary>What a tensor axis in a feature space is, which decides how it is transformed and weighed.</summary>
public enum TensorKind
{
    /// <summary>A conv/linear weight: output rows for producers, input columns for consumers.</summary>
    Weight,
    /// <summary>A bias vector of a producer.</summary>
    Bias,
    /// <summary>A normalisation layer's scale (BatchNorm/GroupNorm/LayerNorm <c>weight</c>).</summary>
    NormWeight,
    /// <summary>A normalisation layer's shift (<c>bias</c>).</summary>
    NormBias,
    /// <summary>BatchNorm <c>running_mean</c>: merged like a producer, left out of weight similarity.</summary>
    RunningMean,
    /// <summary>BatchNorm <c>running_var</c>: merged like a producer (or with the squared merge matrix), left out of weight similarity.</summary>
    RunningVar,
    /// <summary>An embedding axis that writes into the space (a ViT's <c>cls_token</c>/<c>pos_embed</c> channel axis).</summary>
    Embedding,
}
