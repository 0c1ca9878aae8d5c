namespace ZipIt.Tests;

/// <summary>
/// A small IDX dataset (the Fashion-MNIST layout) that a ResNet can learn in seconds: class k is a
/// bright 10×10 square in the top or bottom half (k / 2), solid or striped (k % 2), on 28×28 noise;
/// horizontal flips and small shifts (the training augmentation) keep every class what it is. Written gzipped, as Debian ships
/// Fashion-MNIST, so that tasks such as <c>FOLDER:0-1</c> read it like the real one.
/// </summary>
internal static class SyntheticIdx
{
    public const int Side = 28;

    public static void Write(string folder, int classes, int trainPerClass, int testPerClass, int seed = 1)
    {
        Directory.CreateDirectory(folder);
        var random = new Random(seed);
        Part(folder, "train", classes, trainPerClass, random);
        Part(folder, "t10k", classes, testPerClass, random);
    }

    private static void Part(string folder, string prefix, int classes, int perClass, Random random)
    {
        var n = classes * perClass;
        var pixels = new byte[n * Side * Side];
        var labels = new byte[n];
        for (var i = 0; i < n; i++)
        {
            var label = i % classes;
            labels[i] = (byte)label;
            var image = pixels.AsSpan(i * Side * Side, Side * Side);
            for (var p = 0; p < image.Length; p++) image[p] = (byte)random.Next(0, 60);
            var top = 2 + 14 * (label / 2 % 2) + random.Next(0, 3);
            var left = 9 + random.Next(0, 3);
            var striped = label % 2 == 1;
            for (var y = top; y < top + 10; y++)
                for (var x = left; x < left + 10; x++)
                    if (!striped || y % 4 < 2) image[y * Side + x] = (byte)random.Next(200, 256);
        }
        Data.DataFiles.WriteIdx(Path.Combine(folder, $"{prefix}-images-idx3-ubyte.gz"), [n, Side, Side], pixels, gzip: true);
        Data.DataFiles.WriteIdx(Path.Combine(folder, $"{prefix}-labels-idx1-ubyte.gz"), [n], labels, gzip: true);
    }
}
