using System.Globalization;
using System.Text.Json;

namespace ZipIt.Engine.Checkpoints;

/// <summary>
/// A checkpoint folder's <c>config.json</c> (Hugging Face, timm) as metadata for recognition:
/// top-level strings, numbers and booleans as <c>config.FIELD</c>, and those of a nested
/// <c>model_args</c> object (timm's constructor arguments, e.g. <c>num_heads</c>) as
/// <c>config.model_args.FIELD</c>. timm's <c>pretrained_cfg</c> object (input size, mean, std,
/// crop) is kept whole as JSON text under <see cref="PretrainedConfigKey"/>, for the model's
/// preprocessing. Arrays, other objects and nulls are left out.
/// </summary>
internal static class ModelConfigFile
{
    /// <summary>The prefix of every key this adds.</summary>
    public const string Prefix = "config.";

    /// <summary>timm's <c>pretrained_cfg</c> object, as JSON text.</summary>
    public const string PretrainedConfigKey = Prefix + "pretrained_cfg";

    private const long MaxBytes = 10_000_000;

    /// <summary>Reads <paramref name="full"/>; errors name it as <paramref name="display"/> (exit code 3).</summary>
    public static Dictionary<string, string> Read(string full, string display)
    {
        byte[] bytes;
        try
        {
            var length = new FileInfo(full).Length;
            if (length > MaxBytes) throw CheckpointErrors.Input(display, $"is {length} bytes, over the {MaxBytes:N0}-byte limit");
            bytes = File.ReadAllBytes(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CheckpointErrors.Input(display, $"cannot read: {e.Message}", e);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes);
        }
        catch (JsonException e)
        {
            throw CheckpointErrors.Input(display, $"is not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object) throw CheckpointErrors.Input(display, "is not a JSON object");
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            Add(result, Prefix, document.RootElement);
            if (document.RootElement.TryGetProperty("model_args", out var args) && args.ValueKind == JsonValueKind.Object)
                Add(result, Prefix + "model_args.", args);
            if (document.RootElement.TryGetProperty("pretrained_cfg", out var pretrained) && pretrained.ValueKind == JsonValueKind.Object)
                result[PretrainedConfigKey] = JsonSerializer.Serialize(pretrained);
            return result;
        }
    }

    private static void Add(Dictionary<string, string> result, string prefix, JsonElement obj)
    {
        foreach (var p in obj.EnumerateObject())
        {
            string? text = p.Value.ValueKind switch
            {
                JsonValueKind.String => p.Value.GetString(),
                JsonValueKind.Number => p.Value.GetRawText(),
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                _ => null,
            };
            if (text is not null) result[prefix + p.Name] = text;
        }
    }
}
