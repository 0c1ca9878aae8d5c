using System.Text.Json;
using Microsoft.Extensions.Logging;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Models;

/// <summary>
/// Which models a metrics or matches file was computed from: their <see cref="ModelFingerprint"/>s
/// in model order, kept in the file's <c>zipit.source_fingerprints</c> metadata, and the check that a
/// command was given those models in that order.
/// </summary>
internal static class SourceFingerprints
{
    /// <summary>The option that skips the check (<c>match --models</c>, <c>zip</c>).</summary>
    public const string SkipOption = "--no-identity-check";

    public static string Serialize(IEnumerable<string> hashes) => JsonSerializer.Serialize(hashes);

    /// <summary>The fingerprints <paramref name="metadata"/> records, or null when it records none (a file from an older zipit or another tool); exit 3 when malformed.</summary>
    public static IReadOnlyList<string>? Read(IReadOnlyDictionary<string, string> metadata, string file)
    {
        if (!metadata.TryGetValue(MetadataKeys.SourceFingerprints, out var json)) return null;
        string[]? hashes;
        try { hashes = JsonSerializer.Deserialize<string[]>(json); }
        catch (JsonException) { hashes = null; }
        if (hashes is null || hashes.Any(h => h is null || !h.StartsWith(ModelFingerprint.Prefix, StringComparison.Ordinal)))
            throw ZipItException.Input($"{file}: metadata '{MetadataKeys.SourceFingerprints}' must be a JSON list of \"{ModelFingerprint.Prefix}...\" strings");
        return hashes;
    }

    /// <summary>
    /// Exit 3 when <paramref name="file"/> records models other than <paramref name="models"/> (of
    /// fingerprints <paramref name="given"/>), or the same ones in another order; one line naming the
    /// file and the model that differs. A file that records none gets a warning.
    /// </summary>
    public static void Require(string file, IReadOnlyDictionary<string, string> metadata, IReadOnlyList<LoadedModel> models, IReadOnlyList<string> given, ILogger logger)
    {
        var recorded = Read(metadata, file);
        if (recorded is null)
        {
            logger.LogWarning("{File} does not record which models it was computed from (written by an older zipit or another tool); not checked against {Models}",
                file, string.Join(", ", models.Select(m => m.Name)));
            return;
        }
        var hint = $"(pass {SkipOption} to use it anyway)";
        if (recorded.Count != given.Count)
            throw ZipItException.Input($"{file} was computed from {recorded.Count} models, but {given.Count} were given {hint}");
        var sources = Sources(metadata);
        for (var i = 0; i < given.Count; i++)
        {
            if (recorded[i] == given[i]) continue;
            var name = models[i].Name;
            var other = recorded.ToList().IndexOf(given[i]);
            if (other >= 0)
                throw ZipItException.Input($"{file} was computed with the models in another order: {name}, given as model {i + 1}, is its model {other + 1} {hint}");
            var was = i < sources.Count ? $"model {i + 1} was {sources[i]}, whose weights differ from {name}'s" : $"model {i + 1}, {name}, is not the model it was computed from";
            throw ZipItException.Input($"{file} was computed for other models: {was} {hint}");
        }
    }

    private static IReadOnlyList<string> Sources(IReadOnlyDictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue(MetadataKeys.Sources, out var json)) return [];
        try { return JsonSerializer.Deserialize<string[]>(json) ?? []; }
        catch (JsonException) { return []; }
    }
}
