using ZipIt.Matching;

namespace ZipIt.Tests.Matching;

/// <summary>
/// The fast greedy matcher against the literal O(C·O²) restatement (<see cref="NaiveZipIt"/>): the same
/// groups in the same order on random, tied, asymmetric and masked-out matrices, N = 2..4, every α/β
/// regime and option, with the candidate heaps at their default size and at 1 (every rescan path).
/// </summary>
public class ZipItGreedyEquivalenceTests
{
    private static readonly double[] Alphas = [1.0, 0.5, 0.3, 1e-4, 0.0, -1.0, 1.7];
    private static readonly double[] Betas = [0.0, 0.125, 0.5, 1.0, 3.0];

    public enum Kind { Uniform, Tied, AsymmetricUniform, AsymmetricTied, Correlation }

    public static TheoryData<Kind, int> Batches()
    {
        var data = new TheoryData<Kind, int>();
        foreach (var kind in Enum.GetValues<Kind>())
            for (var batch = 0; batch < 4; batch++) data.Add(kind, batch);
        return data;
    }

    [Theory]
    [MemberData(nameof(Batches))]
    public void SamePicksAsNaive(Kind kind, int batch)
    {
        var lifted = 0;
        for (var trial = 0; trial < 40; trial++)
        {
            var seed = (int)kind * 100_000 + batch * 1000 + trial;
            var random = new Random(seed);
            var models = 2 + random.Next(3);
            var width = 1 + random.Next(trial % 4 == 0 ? 24 : 8);
            var alpha = Alphas[random.Next(Alphas.Length)];
            // The reference's α ≤ 0 branch masks most pairs for N > 2 and then gets stuck; test it less there.
            if (models > 2 && alpha <= 0 && random.Next(3) != 0) alpha = 0.5;
            var beta = Betas[random.Next(Betas.Length)];
            var strict = random.Next(3) == 0;
            var noRepeat = models == 2 && random.Next(5) == 0;
            var similarity = Matrix(kind, models * width, random);
            var candidates = random.Next(2) == 0 ? 1 : ZipItGreedy.DefaultCandidates;
            var small = random.Next(2) == 0 ? 1 : ZipItGreedy.DefaultSmallSelection;
            var label = $"seed {seed}: {kind} N={models} C={width} alpha={alpha} beta={beta} strict={strict} noRepeat={noRepeat} K={candidates} small={small}";

            var expected = Naive(similarity, models, width, alpha, beta, strict, noRepeat);
            var actual = Fast(similarity, models, width, new ZipItOptions(alpha, beta, strict, noRepeat), candidates, small);
            Assert.True(expected == actual, $"{label}\nnaive: {expected}\nfast:  {actual}");
            if (expected.Contains("lifted", StringComparison.Ordinal)) lifted++;
        }
        // Most trials must finish under the masks, or the comparison proves little about them.
        Assert.True(lifted <= 10, $"{lifted} of 40 trials ended with every pair masked");
    }

    [Fact]
    public void LargerMatrices_WithHubsAndTies()
    {
        // Many rows share their best columns (a few "hub" units): rows run out of candidates repeatedly.
        for (var trial = 0; trial < 6; trial++)
        {
            var random = new Random(7_000 + trial);
            var models = 2 + trial % 3;
            var width = 20 + random.Next(12);
            var size = models * width;
            var similarity = Matrix(trial % 2 == 0 ? Kind.Tied : Kind.Uniform, size, random);
            for (var hub = 0; hub < 3; hub++)
            {
                var h = random.Next(size);
                for (var x = 0; x < size; x++)
                    similarity[x * size + h] = similarity[h * size + x] = 0.9f - 0.01f * (x % 3);
            }
            foreach (var (alpha, beta) in new[] { (0.5, 0.5), (0.3, 0.125), (0.0, 0.5), (1.0, 1.0) })
            {
                var expected = Naive(similarity, models, width, alpha, beta, false, false);
                foreach (var (k, small) in new[] { (1, 1), (3, 64), (ZipItGreedy.DefaultCandidates, 1), (ZipItGreedy.DefaultCandidates, 64) })
                {
                    var actual = Fast(similarity, models, width, new ZipItOptions(alpha, beta), k, small);
                    Assert.True(expected == actual, $"trial {trial} N={models} C={width} alpha={alpha} beta={beta} K={k}\nnaive: {expected}\nfast:  {actual}");
                }
            }
        }
    }

    [Fact]
    public void WideHubMatrix_LargeRescans()
    {
        // Every row ranks the columns alike, so rows run dry again and again and their candidate
        // count doubles; both selection paths and ties.
        const int models = 2, width = 100, size = models * width;
        var random = new Random(77);
        var similarity = new float[size * size];
        for (var i = 0; i < size; i++)
            for (var j = 0; j < size; j++)
                similarity[i * size + j] = (j % 13) * 0.05f - (random.Next(3) == 0 ? 0.05f : 0f);
        foreach (var (alpha, beta) in new[] { (0.5, 0.5), (1.0, 0.125) })
        {
            var expected = Naive(similarity, models, width, alpha, beta, false, false);
            Assert.Equal(expected, Fast(similarity, models, width, new ZipItOptions(alpha, beta), 1));
            Assert.Equal(expected, Fast(similarity, models, width, new ZipItOptions(alpha, beta), 1, smallSelection: 1));
        }
    }

    [Fact]
    public void SignedZeros_TieAsEqual()
    {
        // The argmax compares −0 and +0 as equal, so the first in row-major order wins between them.
        for (var trial = 0; trial < 10; trial++)
        {
            var random = new Random(900 + trial);
            const int models = 2, width = 24, size = models * width;
            var similarity = new float[size * size];
            for (var k = 0; k < similarity.Length; k++)
                similarity[k] = random.Next(3) switch { 0 => -0f, 1 => 0f, _ => -0.5f };
            var expected = Naive(similarity, models, width, 0.5, 0.5, false, false);
            Assert.Equal(expected, Fast(similarity, models, width, new ZipItOptions(0.5, 0.5), 1, smallSelection: 1));
            Assert.Equal(expected, Fast(similarity, models, width, new ZipItOptions(0.5, 0.5), 16));
        }
    }

    [Fact]
    public void AllEqual_PicksInRowMajorOrder()
    {
        // Every off-diagonal entry ties: the first pair in row-major order wins every time.
        foreach (var (models, width) in new[] { (2, 5), (3, 4), (4, 3) })
        {
            var size = models * width;
            var similarity = Enumerable.Repeat(0.25f, size * size).ToArray();
            foreach (var beta in new[] { 0.0, 1.0 })
            {
                var expected = NaiveZipIt.Match(similarity, models, width, 0.5, beta);
                var actual = ZipItGreedy.Match((float[])similarity.Clone(), models, width, new ZipItOptions(0.5, beta), original: null, cancellation: default, candidates: 1).FeatureOf;
                Assert.Equal(expected, actual);
            }
        }
    }

    [Fact]
    public void MasksLifted_ContinuesAsTheUnmaskedShadow()
    {
        // N = 3 and 4 with small budgets regularly mask every remaining pair; the fast matcher's
        // closed form must then agree with the naive matcher's unmasked shadow, ties included.
        var lifted = 0;
        for (var trial = 0; trial < 60; trial++)
        {
            var random = new Random(50_000 + trial);
            var models = 3 + trial % 2;
            var width = 2 + random.Next(10);
            var alpha = new[] { 0.5, 0.3, 1.0, 0.0 }[trial % 4];
            var beta = new[] { 0.0, 0.125 }[random.Next(2)];
            var strict = random.Next(2) == 0;
            var similarity = Matrix(trial % 3 == 0 ? Kind.Tied : Kind.Correlation, models * width, random);
            var expected = Naive(similarity, models, width, alpha, beta, strict, false);
            var actual = Fast(similarity, models, width, new ZipItOptions(alpha, beta, strict), trial % 2 == 0 ? 1 : 16, trial % 3 == 0 ? 1 : 64);
            Assert.True(expected == actual, $"trial {trial} N={models} C={width} alpha={alpha} beta={beta} strict={strict}\nnaive: {expected}\nfast:  {actual}");
            if (expected.Contains("lifted", StringComparison.Ordinal)) lifted++;
        }
        Assert.True(lifted >= 10, $"only {lifted} of 60 trials lifted the masks");
    }

    [Fact]
    public void WithoutTheOriginal_EveryPairMaskedThrows()
    {
        var random = new Random(50_000);
        for (var trial = 0; ; trial++)
        {
            var s = Matrix(Kind.Tied, 9, random);
            if (Naive(s, 3, 3, 0.5, 0, true, false).Contains("lifted", StringComparison.Ordinal))
            {
                Assert.Throws<InvalidOperationException>(() => ZipItGreedy.Match((float[])s.Clone(), 3, 3, new ZipItOptions(0.5, 0, StrictBeta: true)));
                return;
            }
            Assert.True(trial < 1000, "no stuck case found");
        }
    }

    private static string Naive(float[] similarity, int models, int width, double alpha, double beta, bool strict, bool noRepeat)
    {
        try
        {
            var featureOf = NaiveZipIt.Match(similarity, models, width, alpha, beta, strict, noRepeat, out var liftedAt);
            return string.Join(",", featureOf) + (liftedAt >= 0 ? $" (masks lifted at {liftedAt})" : "");
        }
        catch (InvalidOperationException) { return "stuck"; }
    }

    private static string Fast(float[] similarity, int models, int width, ZipItOptions options, int candidates, int smallSelection = ZipItGreedy.DefaultSmallSelection)
    {
        try
        {
            var result = ZipItGreedy.Match((float[])similarity.Clone(), models, width, options,
                original: () => (float[])similarity.Clone(), cancellation: default, candidates: candidates, smallSelection: smallSelection);
            return string.Join(",", result.FeatureOf) + (result.MasksLiftedAt >= 0 ? $" (masks lifted at {result.MasksLiftedAt})" : "");
        }
        catch (InvalidOperationException) { return "stuck"; }
    }

    private static float[] Matrix(Kind kind, int size, Random random)
    {
        var m = new float[size * size];
        float Value(bool tied) => tied ? (random.Next(9) - 4) * 0.25f : (float)(random.NextDouble() * 2 - 1);
        var tiedValues = kind is Kind.Tied or Kind.AsymmetricTied;
        var symmetric = kind is Kind.Uniform or Kind.Tied or Kind.Correlation;
        for (var i = 0; i < size; i++)
            for (var j = 0; j < size; j++)
            {
                if (symmetric && j < i) { m[i * size + j] = m[j * size + i]; continue; }
                m[i * size + j] = i == j ? 1f : Value(tiedValues);
            }
        if (kind == Kind.Correlation)
        {
            // Real correlations: cross-model partners near 1, the rest small.
            for (var i = 0; i < size; i++)
                for (var j = 0; j < size; j++)
                    m[i * size + j] = i == j ? 1f : m[Math.Min(i, j) * size + Math.Max(i, j)] * 0.3f + ((i - j) % (size / 2 == 0 ? 1 : size / 2) == 0 ? 0.6f : 0f);
        }
        return m;
    }
}
