using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ZipIt.Engine.Merge;

/// <summary>
/// A recipe's <c>"settings"</c>: matcher settings are strings inside zipit, but a JSON author
/// writes <c>"alpha": 0.3</c> or <c>"no-repeat": true</c>; numbers and booleans are read as their
/// invariant text. Anything else (objects, arrays, null) is not a setting value.
/// </summary>
internal sealed class SettingValuesConverter : JsonConverter<Dictionary<string, string>>
{
    public override Dictionary<string, string> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException("\"settings\" must be an object of name: value");
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = reader.GetString()!;
            reader.Read();
            values[name] = reader.TokenType switch
            {
                JsonTokenType.String => reader.GetString()!,
                JsonTokenType.Number => reader.GetDouble().ToString("R", CultureInfo.InvariantCulture),
                JsonTokenType.True => "true",
                JsonTokenType.False => "false",
                _ => throw new JsonException($"setting \"{name}\" must be a string, a number or true/false"),
            };
        }
        return values;
    }

    public override void Write(Utf8JsonWriter writer, Dictionary<string, string> value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        foreach (var (k, v) in value) writer.WriteString(k, v);
        writer.WriteEndObject();
    }
}
