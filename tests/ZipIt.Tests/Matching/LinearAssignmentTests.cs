using ZipIt.Matching;

namespace ZipIt.Tests.Matching;

public class LinearAssignmentTests
{
    [Fact]
    public void MatchesBruteForce_OnRandomMatrices()
    {
        var random = new Random(1234);
        for (var trial = 0; trial < 400; trial++)
        {
            var n = 1 + trial % 7;
            var integers = trial % 3 == 0;   // many ties
            var cost = new double[n * n];
            for (var k = 0; k < cost.Length; k++)
                cost[k] = integers ? random.Next(-3, 4) : random.NextDouble() * 4 - 2;

            foreach (var maximize in new[] { false, true })
            {
                var assignment = maximize ? LinearAssignment.Maximize(cost, n) : LinearAssignment.Minimize(cost, n);
                Assert.Equal(Enumerable.Range(0, n), assignment.Order());
                var (best, bestAssignment, unique) = BruteForce(cost, n, maximize);
                Assert.Equal(best, Total(cost, n, assignment), 9);
                if (unique) Assert.Equal(bestAssignment, assignment);
            }
        }
    }

    [Fact]
    public void GoldenVector_13_3()
    {
        // Cross block A0–A3 × B4–B7 of the §13.2 matrix: A0↔B5, A1↔B4, A2↔B7, A3↔B6, total 2.41.
        var block = new double[16];
        for (var r = 0; r < 4; r++)
            for (var c = 0; c < 4; c++) block[r * 4 + c] = GoldenMatrix.Values[r * 8 + 4 + c];
        var assignment = LinearAssignment.Maximize(block, 4);
        Assert.Equal([1, 0, 3, 2], assignment);
        Assert.Equal(2.41, Total(block, 4, assignment), 9);
    }

    [Fact]
    public void LargerMatrix_IsAPermutationAndBeatsEveryTwoSwap()
    {
        // Too big for brute force: optimality certificate by local check (no improving swap of two rows).
        var random = new Random(99);
        const int n = 60;
        var value = new double[n * n];
        for (var k = 0; k < value.Length; k++) value[k] = random.NextDouble();
        var a = LinearAssignment.Maximize(value, n);
        Assert.Equal(Enumerable.Range(0, n), a.Order());
        for (var i = 0; i < n; i++)
            for (var j = i + 1; j < n; j++)
                Assert.True(value[i * n + a[i]] + value[j * n + a[j]] >= value[i * n + a[j]] + value[j * n + a[i]] - 1e-12);
    }

    [Fact]
    public void EdgeCases()
    {
        Assert.Empty(LinearAssignment.Minimize([], 0));
        Assert.Equal([0], LinearAssignment.Maximize([5.0], 1));
        Assert.Throws<ArgumentException>(() => LinearAssignment.Minimize(new double[5], 2));
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => LinearAssignment.Minimize([0, double.NaN, 1, 2], 2)).Message);
        Assert.Throws<ArgumentException>(() => LinearAssignment.Maximize([0, double.NegativeInfinity, 1, 2], 2));
        // The input is not changed.
        double[] cost = [3, 1, 2, 4];
        LinearAssignment.Maximize(cost, 2);
        Assert.Equal([3.0, 1, 2, 4], cost);
    }

    private static double Total(double[] cost, int n, int[] assignment) =>
        Enumerable.Range(0, n).Sum(r => cost[r * n + assignment[r]]);

    private static (double Best, int[] Assignment, bool Unique) BruteForce(double[] cost, int n, bool maximize)
    {
        double best = maximize ? double.NegativeInfinity : double.PositiveInfinity;
        int[] bestAssignment = [];
        var count = 0;
        foreach (var p in Permutations(Enumerable.Range(0, n).ToArray(), 0))
        {
            var total = Total(cost, n, p);
            if (Math.Abs(total - best) <= 1e-9) count++;
            else if (maximize ? total > best : total < best)
            {
                best = total;
                bestAssignment = (int[])p.Clone();
                count = 1;
            }
        }
        return (best, bestAssignment, count == 1);
    }

    private static IEnumerable<int[]> Permutations(int[] items, int start)
    {
        if (start == items.Length)
        {
            yield return items;
            yield break;
        }
        for (var i = start; i < items.Length; i++)
        {
            (items[start], items[i]) = (items[i], items[start]);
            foreach (var p in Permutations(items, start + 1)) yield return p;
            (items[start], items[i]) = (items[i], items[start]);
        }
    }
}
