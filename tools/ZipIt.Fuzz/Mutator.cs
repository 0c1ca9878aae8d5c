using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;

namespace ZipIt.Fuzz;

/// <summary>
/// Random and structure-aware mutations of valid inputs: byte flips, truncation, splices, and
/// JSON-level changes (values of the wrong type, huge numbers, deep nesting, odd unicode), plus for
/// safetensors the 8-byte header length, dtypes, shapes and data offsets.
/// </summary>
public sealed class Mutator(Random random)
{
    private static readonly string[] DTypes = ["F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2", "U16", "U32", "U64", "C64", "f32", "", "F32 ", "F3\u0000"];

    private static readonly Func<Random, JsonNode?>[] Oddities =
    [
        _ => null,
        _ => JsonValue.Create(-1),
        _ => JsonValue.Create(long.MaxValue),
        _ => JsonValue.Create(long.MinValue),
        _ => JsonValue.Create(ulong.MaxValue),
        _ => JsonValue.Create(1e308),
        _ => JsonValue.Create(-0.5),
        _ => JsonValue.Create(true),
        _ => JsonValue.Create(""),
        _ => JsonValue.Create("\u0000"),
        _ => JsonValue.Create("\ud800"),
        _ => JsonValue.Create("../../../../etc/passwd"),
        _ => JsonValue.Create("\u202e\u00e9\u4e2d\ud83d\ude00"),
        r => JsonValue.Create(new string('x', r.Next(1, 5000))),
        _ => new JsonArray(),
        _ => new JsonObject(),
        r => new JsonArray(JsonValue.Create(r.Next()), JsonValue.Create(-r.Next())),
        r => new JsonArray(Enumerable.Range(0, r.Next(1, 40)).Select(_ => (JsonNode?)JsonValue.Create(r.NextInt64(-3, 1L << 40))).ToArray()),
        _ => new JsonArray(JsonValue.Create(0), JsonValue.Create(long.MaxValue)),
        _ => new JsonObject { ["dtype"] = "F32", ["shape"] = new JsonArray(), ["data_offsets"] = new JsonArray(0, 0) },
    ];

    /// <summary>A mutation of a valid safetensors file (header length, then JSON header, then data).</summary>
    public byte[] Safetensors(byte[] valid)
    {
        var n = random.Next(10);
        return n switch
        {
            0 or 1 => Bytes(valid),
            2 => HeaderLength(valid),
            _ => RebuildSafetensors(valid),
        };
    }

    /// <summary>A mutation of a valid JSON document (a merge recipe).</summary>
    public byte[] Json(byte[] valid)
    {
        var n = random.Next(10);
        if (n < 3) return Bytes(valid);
        if (n == 3) return Encoding.UTF8.GetBytes(Nesting());
        var node = JsonNode.Parse(valid)!;
        for (var k = random.Next(1, 4); k > 0; k--) node = MutateNode(node);
        var text = node.ToJsonString();
        if (random.Next(6) == 0) text = Splice(text);
        return Encoding.UTF8.GetBytes(text);
    }

    /// <summary>
    /// A mutation of a valid YAML recipe: its bytes, block nesting, anchors and aliases that
    /// multiply (a "billion laughs"), or lines repeated, spliced or re-indented.
    /// </summary>
    public byte[] Yaml(byte[] valid)
    {
        var text = Encoding.UTF8.GetString(valid);
        switch (random.Next(8))
        {
            case 0 or 1:
                return Bytes(valid);
            case 2:
            {
                // Block nesting (indentation) a little past the limit, or flow nesting far past it.
                if (random.Next(2) == 0)
                    return Encoding.UTF8.GetBytes("models:\n" + string.Concat(Enumerable.Range(1, random.Next(10, 30)).Select(i => new string(' ', 2 * i) + "a:\n")));
                var depth = random.Next(1000, 100_000);
                return Encoding.UTF8.GetBytes("models: " + new string('[', depth) + new string(']', depth));
            }
            case 3:
            {
                var laughs = new StringBuilder("models: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
                for (var i = 1; i <= random.Next(1, 12); i++)
                    laughs.Append($"x{i}: &l{i} [{string.Join(", ", Enumerable.Repeat($"*l{i - 1}", random.Next(2, 10)))}]\n");
                return Encoding.UTF8.GetBytes(laughs.ToString());
            }
            default:
            {
                var lines = text.Split('\n').ToList();
                for (var k = random.Next(1, 4); k > 0 && lines.Count > 0; k--)
                {
                    var at = random.Next(lines.Count);
                    switch (random.Next(5))
                    {
                        case 0: lines.Insert(random.Next(lines.Count + 1), lines[at]); break;
                        case 1: lines.RemoveAt(at); break;
                        case 2: lines[at] = new string(' ', random.Next(0, 6)) + lines[at].TrimStart(); break;
                        case 3: lines[at] = lines[at].Replace(": ", random.Next(2) == 0 ? ": &a " : ": *a ", StringComparison.Ordinal); break;
                        default:
                            string[] odd = ["!!python/object:os.system", "!!int", "!!str", "---", "...", "? [a]", "<<: *a", "\t", "\"\\u0000\"", "'", "{", "- - -", "~", ".inf", "0x7fffffffffffffffff"];
                            lines[at] = lines[at].Insert(random.Next(lines[at].Length + 1), odd[random.Next(odd.Length)]);
                            break;
                    }
                }
                return Encoding.UTF8.GetBytes(string.Join('\n', lines));
            }
        }
    }

    private byte[] Bytes(byte[] input)
    {
        var bytes = (byte[])input.Clone();
        switch (random.Next(5))
        {
            case 0:
                for (var k = random.Next(1, 8); k > 0 && bytes.Length > 0; k--) bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                return bytes;
            case 1:
                return bytes.AsSpan(0, random.Next(bytes.Length + 1)).ToArray();
            case 2:
                for (var k = random.Next(1, 8); k > 0 && bytes.Length > 0; k--) bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                return bytes;
            case 3:
            {
                // Insert a run of one interesting byte (quote, brace, NUL, high bit).
                byte[] interesting = [(byte)'"', (byte)'{', (byte)'}', (byte)'[', (byte)']', 0, 0xff, 0xc3, (byte)'\\', (byte)','];
                var at = random.Next(bytes.Length + 1);
                var run = Enumerable.Repeat(interesting[random.Next(interesting.Length)], random.Next(1, 64)).ToArray();
                return [.. bytes.AsSpan(0, at), .. run, .. bytes.AsSpan(at)];
            }
            default:
            {
                // Duplicate a random slice somewhere else.
                if (bytes.Length < 2) return bytes;
                var from = random.Next(bytes.Length);
                var length = random.Next(1, Math.Min(256, bytes.Length - from) + 1);
                var at = random.Next(bytes.Length + 1);
                return [.. bytes.AsSpan(0, at), .. bytes.AsSpan(from, length), .. bytes.AsSpan(at)];
            }
        }
    }

    private byte[] HeaderLength(byte[] valid)
    {
        var bytes = (byte[])valid.Clone();
        var length = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        ulong[] choices = [0, 1, 2, length - 1, length + 1, length + 8, (ulong)bytes.Length, (ulong)bytes.Length - 7, 100_000_000, 100_000_001, long.MaxValue, ulong.MaxValue, (ulong)random.NextInt64()];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, choices[random.Next(choices.Length)]);
        return bytes;
    }

    private byte[] RebuildSafetensors(byte[] valid)
    {
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(valid);
        var header = JsonNode.Parse(valid.AsSpan(8, headerLength).ToArray())!.AsObject();
        var data = valid.AsSpan(8 + headerLength).ToArray();
        for (var k = random.Next(1, 4); k > 0; k--) MutateSafetensorsHeader(header);
        var text = header.ToJsonString();
        if (random.Next(8) == 0) text = Splice(text);
        if (random.Next(10) == 0) data = data.AsSpan(0, random.Next(data.Length + 1)).ToArray();
        var json = Encoding.UTF8.GetBytes(text);
        var padded = random.Next(4) == 0 ? json.Length : (json.Length + 7) / 8 * 8;
        var bytes = new byte[8 + padded + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)padded);
        json.CopyTo(bytes, 8);
        bytes.AsSpan(8 + json.Length, padded - json.Length).Fill((byte)' ');
        data.CopyTo(bytes, 8 + padded);
        return bytes;
    }

    private void MutateSafetensorsHeader(JsonObject header)
    {
        var names = header.Select(kv => kv.Key).Where(k => k != "__metadata__").ToList();
        if (names.Count == 0 || random.Next(12) == 0)
        {
            header[Name()] = Oddities[random.Next(Oddities.Length)](random);
            return;
        }
        var name = names[random.Next(names.Count)];
        if (header[name] is not JsonObject entry)
        {
            header[name] = Oddities[random.Next(Oddities.Length)](random);
            return;
        }
        switch (random.Next(9))
        {
            case 0: entry["dtype"] = DTypes[random.Next(DTypes.Length)]; break;
            case 1: entry["shape"] = Oddities[random.Next(Oddities.Length)](random); break;
            case 2:
                if (entry["shape"] is JsonArray { Count: > 0 } shape)
                    shape[random.Next(shape.Count)] = Oddities[random.Next(Oddities.Length)](random);
                else entry["shape"] = new JsonArray(JsonValue.Create(random.NextInt64(-2, 1L << 33)));
                break;
            case 3: entry["data_offsets"] = Oddities[random.Next(Oddities.Length)](random); break;
            case 4:
                if (entry["data_offsets"] is JsonArray { Count: 2 } offsets)
                    offsets[random.Next(2)] = JsonValue.Create(random.Next(3) switch { 0 => -1, 1 => random.NextInt64(0, 4096), _ => long.MaxValue });
                break;
            case 5: entry.Remove(new[] { "dtype", "shape", "data_offsets" }[random.Next(3)]); break;
            case 6: entry[Name()] = Oddities[random.Next(Oddities.Length)](random); break;
            case 7:
            {
                var renamed = Name();
                header.Remove(name);
                if (!header.ContainsKey(renamed)) header[renamed] = entry;
                break;
            }
            default:
                header["__metadata__"] = random.Next(3) == 0
                    ? Oddities[random.Next(Oddities.Length)](random)
                    : new JsonObject { [Name()] = Oddities[random.Next(Oddities.Length)](random), ["zipit.kind"] = "model" };
                break;
        }
    }

    private JsonNode MutateNode(JsonNode root)
    {
        // Pick a random node by a walk, then replace it or one of its members.
        var node = root;
        for (var depth = random.Next(4); depth > 0; depth--)
        {
            var children = node switch
            {
                JsonObject o => o.Select(kv => kv.Value).Where(v => v is not null).ToList(),
                JsonArray a => a.Where(v => v is not null).ToList(),
                _ => [],
            };
            if (children.Count == 0) break;
            node = children[random.Next(children.Count)]!;
        }
        var odd = Oddities[random.Next(Oddities.Length)](random);
        switch (node)
        {
            case JsonObject o when o.Count > 0 && random.Next(4) > 0:
                o[o.ElementAt(random.Next(o.Count)).Key] = odd;
                break;
            case JsonObject o:
                o[Name()] = odd;
                break;
            case JsonArray a when a.Count > 0:
                a[random.Next(a.Count)] = odd;
                break;
            case JsonArray a:
                a.Add(odd);
                break;
            default:
                if (node.Parent is JsonObject parent) parent[node.GetPropertyName()] = odd;
                else if (node.Parent is JsonArray array) array[node.GetElementIndex()] = odd;
                else return odd ?? new JsonObject();
                break;
        }
        return root;
    }

    private string Splice(string text)
    {
        // Textual changes JSON nodes cannot express: a duplicated key/value pair, a cut, a stray token.
        if (text.Length < 2) return text;
        var at = random.Next(1, text.Length);
        return random.Next(3) switch
        {
            0 => Duplicate(text, at),
            1 => text[..at],
            _ => text.Insert(at, new[] { ",", ":", "\"", "}", "]", "\\u0000", "1e999", "-", "NaN" }[random.Next(9)]),
        };
    }

    private string Duplicate(string text, int at)
    {
        var from = random.Next(text.Length);
        var length = random.Next(1, Math.Min(64, text.Length - from) + 1);
        return text.Insert(at, text.Substring(from, length));
    }

    private string Nesting()
    {
        var depth = random.Next(2) == 0 ? random.Next(60, 70) : random.Next(1000, 100_000);
        var open = random.Next(2) == 0 ? "[" : "{\"a\":";
        var close = open == "[" ? "]" : "}";
        return "{\"models\":" + string.Concat(Enumerable.Repeat(open, depth)) + "1" + string.Concat(Enumerable.Repeat(close, depth)) + "}";
    }

    private string Name() => random.Next(6) switch
    {
        0 => "",
        1 => "__metadata__",
        2 => "\ud800x",
        3 => "a\u0000b",
        4 => new string('n', random.Next(1, 300)),
        _ => "t" + random.Next(1000),
    };
}
