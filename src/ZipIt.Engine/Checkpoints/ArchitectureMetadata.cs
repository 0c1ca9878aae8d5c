using System.Text.Json;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Checkpoints;

/// <summary>The metadata that lets a checkpoint zipit writes be reloaded without recognition: its architecture, variant and settings.</summary>
internal static class ArchitectureMetadata
{
    public static Dictionary<string, string> For(ArchitectureConfig config) => new()
    {
        [MetadataKeys.Architecture] = config.Architecture,
        [MetadataKeys.Variant] = config.Variant,
        [MetadataKeys.Config] = JsonSerializer.Serialize(config.Settings),
    };
}
