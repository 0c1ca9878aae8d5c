using ZipIt.Matching;
using ZipIt.Engine.Matching;
using static TorchSharp.torch;
using static ZipIt.Tests.Matching.MatchingTestSupport;

namespace ZipIt.Tests.Matching;

/// <summary>
/// Grouped points (GroupNorm groups, attention heads) in <c>permute</c> and <c>zipit</c>
/// (mudsc-method.md §6.3–§6.5, §9.2): every merged group draws from exactly one group per model.
/// </summary>
public class GroupedMatcherTests
{
    public static TheoryData<string> Matchers() => new(["permute", "zipit"]);

    private static IMatcher Create(string name) => name == "zipit" ? new ZipItMatcher() : new PermuteMatcher();

    /// <summary>A random group-structured permutation: whole groups move, and units move within groups.</summary>
    internal static int[] GroupPermutation(int width, int groups, Random random)
    {
        var size = width / groups;
        var order = Enumerable.Range(0, groups).OrderBy(_ => random.Next()).ToArray();
        var result = new int[width];
        for (var j = 0; j < groups; j++)
        {
            var within = Enumerable.Range(0, size).OrderBy(_ => random.Next()).ToArray();
            for (var t = 0; t < size; t++) result[j * size + t] = order[j] * size + within[t];
        }
        return result;
    }

    /// <summary>
    /// Model 0 has random features X [C, S]; model m's unit σ_m(c) is an exact copy of model 0's unit c.
    /// Returns the covariance of the stack and σ (σ_0 = identity).
    /// </summary>
    private static (Tensor Covariance, int[][] Sigma) PermutedCopies(int models, int width, int groups, int seed, int samples = 256)
    {
        var random = new Random(seed);
        var sigma = new int[models][];
        sigma[0] = Enumerable.Range(0, width).ToArray();
        for (var m = 1; m < models; m++) sigma[m] = GroupPermutation(width, groups, random);
        var x = new double[width, samples];
        for (var c = 0; c < width; c++)
            for (var s = 0; s < samples; s++) x[c, s] = random.NextDouble() * 2 - 1;
        var features = new double[models * width, samples];
        for (var m = 0; m < models; m++)
            for (var c = 0; c < width; c++)
                for (var s = 0; s < samples; s++) features[m * width + sigma[m][c], s] = x[c, s];
        return (CovarianceOf(features), sigma);
    }

    /// <summary>
    /// Checks U's block structure (§6.5): one 1 per row, and for every model a bijection c_i from
    /// merged groups to its groups with all of group c_i(r)'s units in merged block r (identity for
    /// model 0). Returns c.
    /// </summary>
    private static int[][] AssertGroupBlocks(MatchResult result, int models, int width, int groups)
    {
        var size = width / groups;
        var units = models * width;
        var featureOf = FeatureOf(Values(result.Unmerge), units, width);
        Assert.DoesNotContain(-1, featureOf);
        var map = new int[models][];
        for (var m = 0; m < models; m++)
        {
            map[m] = Enumerable.Repeat(-1, groups).ToArray();
            for (var k = 0; k < groups; k++)
            {
                var blocks = Enumerable.Range(0, size).Select(t => featureOf[m * width + k * size + t] / size).Distinct().ToArray();
                Assert.True(blocks.Length == 1, $"model {m}'s group {k} is spread over merged groups {string.Join(",", blocks)}");
                Assert.True(map[m][blocks[0]] < 0, $"merged group {blocks[0]} draws from two groups of model {m}");
                map[m][blocks[0]] = k;
            }
        }
        Assert.Equal(Enumerable.Range(0, groups), map[0]);
        return map;
    }

    /// <summary>Each merge row averages exactly the members its unmerge column marks.</summary>
    private static void AssertMergeAverages(MatchResult result, int models, int width, float epsilon)
    {
        var units = models * width;
        var merge = Values(result.Merge);
        var unmerge = Values(result.Unmerge);
        for (var f = 0; f < width; f++)
        {
            var count = Enumerable.Range(0, units).Count(k => unmerge[k * width + f] == 1f);
            Assert.True(count >= 1, $"merged feature {f} has no member");
            for (var k = 0; k < units; k++)
                Assert.Equal(unmerge[k * width + f] == 1f ? 1f / (count + epsilon) : 0f, merge[f * units + k]);
        }
    }

    [Theory]
    [InlineData("permute", 2, 32, 4)]
    [InlineData("zipit", 2, 32, 4)]
    [InlineData("permute", 2, 24, 8)]
    [InlineData("zipit", 2, 24, 8)]
    [InlineData("permute", 2, 8, 8)]
    [InlineData("zipit", 2, 8, 8)]
    [InlineData("permute", 3, 24, 4)]
    [InlineData("zipit", 3, 24, 4)]
    public void PermutedCopy_IsRecoveredExactly(string name, int models, int width, int groups)
    {
        var (covariance, sigma) = PermutedCopies(models, width, groups, seed: 100 + width + groups + models);
        var point = new MatchPoint("p", width) { Groups = new GroupStructure(groups), Covariance = covariance };
        var result = MatchOne(Create(name), models, point);

        // U is exactly the true one: merged feature c = model 0's unit c and its copy in every model.
        var expected = new float[models * width * width];
        for (var m = 0; m < models; m++)
            for (var c = 0; c < width; c++) expected[(m * width + sigma[m][c]) * width + c] = 1f;
        Assert.Equal(expected, Values(result.Unmerge));
        AssertGroupBlocks(result, models, width, groups);
        AssertMergeAverages(result, models, width, 1e-5f);
    }

    [Theory]
    [InlineData("permute", 2, 48, 8, 1)]
    [InlineData("zipit", 2, 48, 8, 1)]
    [InlineData("zipit", 2, 64, 4, 2)]
    [InlineData("permute", 3, 24, 4, 3)]
    [InlineData("zipit", 3, 24, 4, 4)]
    public void DifferentModels_EachMergedGroupDrawsFromOneGroupPerModel(string name, int models, int width, int groups, int seed)
    {
        // §16.6 b: two (or three) unrelated models; within-model duplicates invite same-model merges.
        var covariance = RandomCovariance(models, width, seed);
        var point = new MatchPoint("p", width) { Groups = new GroupStructure(groups), Covariance = covariance };
        var result = MatchOne(Create(name), models, point, ("merge-eps", "0"));
        AssertGroupBlocks(result, models, width, groups);
        AssertMergeAverages(result, models, width, 0f);

        var units = models * width;
        var unmerge = Values(result.Unmerge);
        var sizes = Enumerable.Range(0, width).Select(f => Enumerable.Range(0, units).Count(k => unmerge[k * width + f] == 1f)).ToArray();
        if (name == "permute")
        {
            // A permutation per model: every merged unit has exactly one member of every model.
            for (var f = 0; f < width; f++)
                for (var m = 0; m < models; m++)
                    Assert.Equal(1, Enumerable.Range(m * width, width).Count(k => unmerge[k * width + f] == 1f));
        }
        else
        {
            // A zip: every unit used once (checked above), N·g units into g features per block.
            Assert.Equal(units, sizes.Sum());
            Assert.Contains(sizes, s => s != models);
        }

        // The same covariance without groups mixes groups: the check above is not vacuous.
        var ungrouped = MatchOne(Create(name), models, point with { Groups = null });
        Assert.ThrowsAny<Exception>(() => AssertGroupBlocks(ungrouped, models, width, groups));
    }

    /// <summary>
    /// Correlation for C = 8, G = 2 (g = 4), N = 2: model 0's units within a group all correlate 0.9,
    /// model 1's not at all; twins (same position in the same group) 0.3, other cross pairs within
    /// paired groups 0.1, and 0 across unpaired groups.
    /// </summary>
    private static MatchPoint BudgetPoint()
    {
        const int width = 8, size = 4, units = 16;
        var c = new double[units * units];
        for (var i = 0; i < units; i++)
            for (var j = 0; j < units; j++)
            {
                int mi = i / width, mj = j / width, gi = i % width / size, gj = j % width / size;
                double v;
                if (i == j) v = 1;
                else if (gi != gj) v = 0;
                else if (mi == mj) v = mi == 0 ? 0.9 : 0;
                else v = i % width == j % width ? 0.3 : 0.1;
                c[i * units + j] = v;
            }
        return new MatchPoint("p", width) { Groups = new GroupStructure(2), Covariance = tensor(c, [units, units], ScalarType.Float64) };
    }

    [Fact]
    public void Zip_PerGroupBudget_StopsSameModelMerges()
    {
        // β = 1: model budget 4, group budget ⌊(N−1)·C/(N·G)⌋ = 2. In each group model 0 merges (0,1) and
        // (2,3) and is then masked; without the group budget {0,1} and {2,3} (similarity α·0.45) would merge next.
        var result = MatchOne(new ZipItMatcher(), 2, BudgetPoint(), ("alpha", "0.5"), ("beta", "1"));
        Assert.Equal("{0,1,8} {2,3,9} {10} {11} {4,5,12} {6,7,13} {14} {15}",
            Groups(FeatureOf(Values(result.Unmerge), 16, 8), 8));
    }

    [Fact]
    public void Zip_ModelBudget_IsCarriedAcrossGroups()
    {
        // β = 0.5: model budget 2, spent in group 0, so model 0 makes no same-model merge in group 1
        // (its pairs stay masked): group 1 pairs the twins.
        var result = MatchOne(new ZipItMatcher(), 2, BudgetPoint(), ("alpha", "0.5"), ("beta", "0.5"));
        Assert.Equal("{0,1,8} {2,3,9} {10} {11} {4,12} {5,13} {6,14} {7,15}",
            Groups(FeatureOf(Values(result.Unmerge), 16, 8), 8));
    }

    [Theory]
    [MemberData(nameof(Matchers))]
    public void OneGroup_IsTheUngroupedMatch(string name)
    {
        using var covariance = RandomCovariance(2, 12, seed: 9);
        var point = new MatchPoint("p", 12) { Covariance = covariance };
        var plain = MatchOne(Create(name), 2, point);
        var one = MatchOne(Create(name), 2, point with { Groups = new GroupStructure(1) });
        Assert.True(plain.Unmerge.Equals(one.Unmerge));
        Assert.True(plain.Merge.Equals(one.Merge));
    }

    [Theory]
    [MemberData(nameof(Matchers))]
    public void Deterministic_AndInputUnchanged(string name)
    {
        using var covariance = RandomCovariance(2, 32, seed: 12);
        using var before = covariance.clone();
        var point = new MatchPoint("p", 32) { Groups = new GroupStructure(4), Covariance = covariance };
        var first = MatchOne(Create(name), 2, point);
        var second = MatchOne(Create(name), 2, point);
        Assert.True(first.Unmerge.Equals(second.Unmerge));
        Assert.True(first.Merge.Equals(second.Merge));
        Assert.True(before.Equals(covariance));
        Assert.Equal(ScalarType.Float64, covariance.dtype);
    }

    /// <summary>
    /// C = 8, G = 2, N = 2 where model 1's group 1 copies model 0's group 0 (and vice versa) with a
    /// cross correlation of <paramref name="swapped"/>, while the same groups correlate <paramref name="straight"/>.
    /// </summary>
    private static Tensor TwoGroupCovariance(double swapped, double straight)
    {
        const int width = 8, size = 4, units = 16;
        var c = new double[units * units];
        for (var i = 0; i < units; i++) c[i * units + i] = 1;
        for (var a = 0; a < width; a++)
            for (var b = 0; b < width; b++)
            {
                if (a % size != b % size) continue;
                var v = a / size == b / size ? straight : swapped;
                c[a * units + width + b] = c[(width + b) * units + a] = v;
            }
        return tensor(c, [units, units], ScalarType.Float64);
    }

    private static MatchPoint Tied(string name, Tensor covariance, string? tie, int groups = 2) => new(name, covariance.shape[0] == 16 ? 8 : 12)
    {
        Groups = new GroupStructure(groups),
        Covariance = covariance,
        Space = new FeatureSpace(name, covariance.shape[0] == 16 ? 8 : 12) { Groups = new GroupStructure(groups), GroupTie = tie },
    };

    [Theory]
    [MemberData(nameof(Matchers))]
    public void TiedPoints_ShareOneGroupAssignment(string name)
    {
        // "qk" prefers the swap strongly, "v" the identity weakly: tied, v follows qk's group assignment.
        var matcher = Create(name);
        var qk = TwoGroupCovariance(swapped: 0.9, straight: 0);
        var v = TwoGroupCovariance(swapped: 0, straight: 0.2);

        var tied = matcher.Match(Context(matcher, 2, [Tied("qk", qk, "h0"), Tied("v", v, "h0")]));
        Assert.Equal([1, 0], AssertGroupBlocks(tied["qk"], 2, 8, 2)[1]);
        Assert.Equal([1, 0], AssertGroupBlocks(tied["v"], 2, 8, 2)[1]);

        var free = matcher.Match(Context(matcher, 2, [Tied("qk", qk, "h0"), Tied("v", v, null)]));
        Assert.Equal([1, 0], AssertGroupBlocks(free["qk"], 2, 8, 2)[1]);
        Assert.Equal([0, 1], AssertGroupBlocks(free["v"], 2, 8, 2)[1]);

        // untie-heads: the reference's behaviour, tied points paired as if they were not.
        var untied = matcher.Match(Context(matcher, 2, [Tied("qk", qk, "h0"), Tied("v", v, "h0")], ("untie-heads", "true")));
        Assert.Equal([1, 0], AssertGroupBlocks(untied["qk"], 2, 8, 2)[1]);
        Assert.Equal([0, 1], AssertGroupBlocks(untied["v"], 2, 8, 2)[1]);

        var odd = Tied("v", eye(24, dtype: ScalarType.Float64), "h0", groups: 3);
        var e = Assert.Throws<ArgumentException>(() => matcher.Match(Context(matcher, 2, [Tied("qk", qk, "h0"), odd])));
        Assert.Equal("points 'qk' and 'v' share the group tie 'h0' but have 2 and 3 groups", e.Message);
    }

    [Theory]
    [MemberData(nameof(Matchers))]
    public void WidthNotDivisible(string name)
    {
        var point = new MatchPoint("p", 4) { Groups = new GroupStructure(3), Covariance = eye(8, dtype: ScalarType.Float64) };
        var e = Assert.Throws<ArgumentException>(() => MatchOne(Create(name), 2, point));
        Assert.Equal("point 'p': width 4 is not divisible into 3 groups", e.Message);
    }
}
