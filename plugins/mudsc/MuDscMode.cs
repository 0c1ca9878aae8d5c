namespace ZipIt.Plugins.MuDsc;

/// <summary>The matcher Ψ that MuDSC runs on the blended similarity of a point.</summary>
public enum MuDscMode
{
    /// <summary>ZipIt!'s greedy (within and across models, α/β); group zip on grouped points.</summary>
    Zip,
    /// <summary>Linear assignment of every model to model 0; two-level group alignment on grouped points.</summary>
    Align,
}
