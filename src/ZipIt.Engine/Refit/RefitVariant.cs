namespace ZipIt.Engine.Refit;

/// <summary>Where a refit takes each layer's inputs from (the targets are the base models' outputs either way).</summary>
internal enum RefitVariant
{
    /// <summary>
    /// The base models' inputs to the layer, mapped into the merged layout: every layer is fitted
    /// from one pass of the base models (the merged model is not run).
    /// </summary>
    Teacher,

    /// <summary>
    /// The merged model's own inputs to the layer, after every earlier layer was refit: corrects the
    /// error that builds up through depth, at one pass over the data per layer.
    /// </summary>
    Sequential,
}
