using ZipIt.Engine.Zip;

namespace ZipIt.Engine.Models;

/// <summary>Which architecture and configuration a checkpoint is, and whether its tensors fit that configuration.</summary>
/// <param name="Architecture">The recognising family.</param>
/// <param name="Config">The configuration it recognised.</param>
/// <param name="Mismatch">Null when every key and shape agrees with the configuration; otherwise one line saying what differs.</param>
/// <param name="ParameterCount">Elements in the model's parameters (buffers such as BN running stats excluded), every head counted.</param>
/// <param name="Heads">The head layout of a partially zipped checkpoint, or null.</param>
/// <param name="Remapping">The wrapper prefix stripped from the checkpoint's keys (DataParallel's <c>module.</c>, ...), or null.</param>
internal sealed record ModelIdentity(IArchitecture Architecture, ArchitectureConfig Config, string? Mismatch, long ParameterCount, HeadLayout? Heads = null, KeyRemapping? Remapping = null);
