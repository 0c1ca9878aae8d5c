namespace ZipIt.Engine.Refit;

/// <summary>
/// A run of a layer's input channels or output channels and what indexes it: a merge point (whose
/// merge matrix maps each model's units into the merged layout) or, with <see cref="Space"/> null,
/// the model's own inputs or outputs, which every model shares (the merged layout is their mean).
/// </summary>
/// <param name="Offset">First channel of the run.</param>
/// <param name="Length">Channels in the run.</param>
/// <param name="Space">The merge point's name, or null for the model's inputs or outputs.</param>
internal sealed record ChannelSlice(long Offset, long Length, string? Space);
