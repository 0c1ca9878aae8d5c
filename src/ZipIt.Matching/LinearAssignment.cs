namespace ZipIt.Matching;

/// <summary>
/// Square linear assignment: the permutation π that minimises (or maximises) Σ_r cost[r, π(r)].
/// Shortest augmenting paths with dual potentials (Jonker–Volgenant, in Crouse's 2016 formulation,
/// the method SciPy's <c>linear_sum_assignment</c> uses): rows are added one at a time, each by a
/// Dijkstra search over reduced costs. O(n³) worst case, far less on dense random matrices.
/// </summary>
/// <remarks>
/// Columns are searched in the order SciPy searches them and ties prefer a free column, as SciPy's
/// do, so that when several assignments are optimal the same one tends to come out (not
/// guaranteed: summation order can differ in the last bit).
/// </remarks>
public static class LinearAssignment
{
    /// <summary>For every row r of the row-major n×n <paramref name="cost"/>, the column assigned to it (minimum total).</summary>
    /// <exception cref="ArgumentException">Wrong length, or a NaN or infinite cost.</exception>
    public static int[] Minimize(ReadOnlySpan<double> cost, int n) => Solve(cost, n, maximize: false);

    /// <summary>For every row r of the row-major n×n <paramref name="value"/>, the column assigned to it (maximum total).</summary>
    /// <exception cref="ArgumentException">Wrong length, or a NaN or infinite value.</exception>
    public static int[] Maximize(ReadOnlySpan<double> value, int n) => Solve(value, n, maximize: true);

    private static int[] Solve(ReadOnlySpan<double> input, int n, bool maximize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        if (input.Length != (long)n * n)
            throw new ArgumentException($"the cost matrix has {input.Length} entries, not {n}×{n}");

        var cost = new double[input.Length];
        for (var k = 0; k < cost.Length; k++)
        {
            var c = input[k];
            if (!double.IsFinite(c))
                throw new ArgumentException($"the cost matrix has a NaN or infinite entry at ({k / n}, {k % n})");
            cost[k] = maximize ? -c : c;
        }

        var u = new double[n];          // row potentials
        var v = new double[n];          // column potentials
        var columnOf = new int[n];      // row → column
        var rowOf = new int[n];         // column → row
        Array.Fill(columnOf, -1);
        Array.Fill(rowOf, -1);

        var shortest = new double[n];
        var predecessor = new int[n];
        var remaining = new int[n];
        var visitedRows = new int[n];
        var visitedColumns = new int[n];

        for (var start = 0; start < n; start++)
        {
            // Dijkstra over reduced costs from the free row `start` to the nearest free column.
            for (var j = 0; j < n; j++)
            {
                remaining[j] = n - 1 - j;
                shortest[j] = double.PositiveInfinity;
            }
            var open = n;
            var rows = 0;
            var columns = 0;
            var row = start;
            var distance = 0.0;
            var sink = -1;
            while (sink < 0)
            {
                visitedRows[rows++] = row;
                var rowCost = row * n;
                var ur = u[row];
                var lowest = double.PositiveInfinity;
                var lowestAt = -1;
                for (var it = 0; it < open; it++)
                {
                    var j = remaining[it];
                    var reduced = distance + cost[rowCost + j] - ur - v[j];
                    if (reduced < shortest[j])
                    {
                        predecessor[j] = row;
                        shortest[j] = reduced;
                    }
                    var s = shortest[j];
                    if (s < lowest || (s == lowest && rowOf[j] < 0))
                    {
                        lowest = s;
                        lowestAt = it;
                    }
                }
                distance = lowest;
                var column = remaining[lowestAt];
                visitedColumns[columns++] = column;
                remaining[lowestAt] = remaining[--open];
                if (rowOf[column] < 0) sink = column;
                else row = rowOf[column];
            }

            // Keep reduced costs non-negative and the matched edges tight.
            u[start] += distance;
            for (var k = 1; k < rows; k++)
            {
                var r = visitedRows[k];
                u[r] += distance - shortest[columnOf[r]];
            }
            for (var k = 0; k < columns; k++)
            {
                var j = visitedColumns[k];
                v[j] -= distance - shortest[j];
            }

            // Flip the alternating path ending at the sink.
            var at = sink;
            while (true)
            {
                var r = predecessor[at];
                rowOf[at] = r;
                (at, columnOf[r]) = (columnOf[r], at);
                if (r == start) break;
            }
        }
        return columnOf;
    }
}
