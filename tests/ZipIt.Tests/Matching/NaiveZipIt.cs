namespace ZipIt.Tests.Matching;

/// <summary>
/// The reference's greedy ZipIt! matching restated literally (spec §3.1), O(C·O²): a float32 matrix
/// that physically shrinks, a flat first-argmax in row-major order, column update then column
/// deletion then row update then row deletion, owners and budgets in compacted lists. Kept in the
/// tests only, as the oracle for the fast matcher.
/// </summary>
/// <remarks>
/// Beside the masked matrix it carries an unmasked shadow that gets the same updates without any
/// mask (budget kills, the α ≤ 0 ranges, no-repeat); when every entry of the masked matrix is −∞
/// (where the reference's argmax would pick the diagonal) it continues on the shadow. This is the
/// definition of the fast matcher's "lift the masks" fallback, which computes the shadow's values
/// in closed form instead.
/// </remarks>
internal static class NaiveZipIt
{
    public static int[] Match(float[] similarity, int models, int width, double alpha, double beta,
        bool strictBeta = false, bool noRepeat = false) =>
        Match(similarity, models, width, alpha, beta, strictBeta, noRepeat, out _);

    public static int[] Match(float[] similarity, int models, int width, double alpha, double beta,
        bool strictBeta, bool noRepeat, out int liftedAt)
    {
        liftedAt = -1;
        var size = models * width;
        var s = new float[size, size];
        for (var i = 0; i < size; i++)
            for (var j = 0; j < size; j++)
                s[i, j] = i == j ? float.NegativeInfinity : similarity[i * size + j];
        var shadow = (float[,])s.Clone();
        var masked = true;
        var groups = Enumerable.Range(0, size).Select(k => new List<int> { k }).ToList();
        var owner = Enumerable.Range(0, size).Select(k => k / width).ToList();
        var quota = (int)Math.Truncate(((size - width) / models) * beta + 1e-4);
        var budget = Enumerable.Repeat(quota, models).ToArray();
        var a = (float)alpha;

        if (strictBeta && quota <= 0)
            for (var m = 0; m < models; m++) MaskModel(s, owner, m);

        while (groups.Count > width)
        {
            var n = groups.Count;
            var best = 0;
            for (var f = 1; f < n * n; f++)
                if (s[f / n, f % n] > s[best / n, best % n]) best = f;
            if (float.IsNegativeInfinity(s[best / n, best % n]))
            {
                if (!masked) throw new InvalidOperationException("all masked");
                masked = false;
                liftedAt = size - n;
                s = shadow;
                continue;
            }
            var lo = Math.Min(best / n, best % n);
            var hi = Math.Max(best / n, best % n);
            var ro = owner[lo];
            var co = owner[hi];

            s = Update(s, lo, hi, n, alpha, a, masked ? [ro, co] : [], width);
            if (masked) shadow = Update(shadow, lo, hi, n, alpha, a, [], width);
            if (noRepeat && masked)
                for (var x = 0; x < n - 1; x++) s[x, lo] = s[lo, x] = float.NegativeInfinity;

            groups[lo].AddRange(groups[hi]);
            groups.RemoveAt(hi);
            owner.RemoveAt(hi);
            if (masked && ro == co)
            {
                var origin = owner[lo];
                if (--budget[origin] <= 0) MaskModel(s, owner, origin);
            }
        }

        var result = new int[size];
        for (var g = 0; g < groups.Count; g++)
            foreach (var k in groups[g]) result[k] = g;
        return result;
    }

    /// <summary>One merge of (lo, hi) on an n×n matrix; <paramref name="rangeOwners"/> are the α ≤ 0 branch's masked ranges.</summary>
    private static float[,] Update(float[,] s, int lo, int hi, int n, double alpha, float a, int[] rangeOwners, int width)
    {
        for (var x = 0; x < n; x++)
        {
            var m = Math.Min(s[x, lo], s[x, hi]);
            s[x, lo] = alpha > 0 ? a * m : m;
        }
        if (!(alpha > 0))
            foreach (var o in rangeOwners)
                for (var x = o * width; x < Math.Min((o + 1) * width, n); x++) s[x, lo] = float.NegativeInfinity;
        s = RemoveColumn(s, hi);

        for (var y = 0; y < n - 1; y++)
        {
            var m = Math.Min(s[lo, y], s[hi, y]);
            s[lo, y] = alpha > 0 ? a * m : m;
        }
        if (!(alpha > 0))
            foreach (var o in rangeOwners)
                for (var y = o * width; y < Math.Min((o + 1) * width, n - 1); y++) s[lo, y] = float.NegativeInfinity;
        return RemoveRow(s, hi);
    }

    private static void MaskModel(float[,] s, List<int> owner, int model)
    {
        for (var x = 0; x < owner.Count; x++)
            for (var y = 0; y < owner.Count; y++)
                if (owner[x] == model && owner[y] == model) s[x, y] = float.NegativeInfinity;
    }

    private static float[,] RemoveColumn(float[,] s, int column)
    {
        int rows = s.GetLength(0), columns = s.GetLength(1);
        var r = new float[rows, columns - 1];
        for (var i = 0; i < rows; i++)
            for (var j = 0; j < columns - 1; j++) r[i, j] = s[i, j < column ? j : j + 1];
        return r;
    }

    private static float[,] RemoveRow(float[,] s, int row)
    {
        int rows = s.GetLength(0), columns = s.GetLength(1);
        var r = new float[rows - 1, columns];
        for (var i = 0; i < rows - 1; i++)
            for (var j = 0; j < columns; j++) r[i, j] = s[i < row ? i : i + 1, j];
        return r;
    }
}
