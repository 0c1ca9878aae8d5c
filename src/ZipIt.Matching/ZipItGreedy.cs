namespace ZipIt.Matching;

/// <summary>
/// The reference's greedy ZipIt! matching (<c>match_tensors_zipit</c>), made fast without changing a
/// single pick.
/// </summary>
/// <remarks>
/// <para><b>What the reference does.</b> It keeps a shrinking float32 similarity matrix S over the
/// current features, takes the first maximum of S in row-major order, merges the pair (lo, hi), sets
/// row and column lo to α·min(lo, hi) and deletes row and column hi, and when a model's same-model
/// budget runs out masks every pair of that model's current features. Every iteration scans the
/// whole matrix: O(C·O²).</para>
/// <para><b>Why a compact index is not needed.</b> Deleting rows and columns keeps the remaining
/// features in order, and the feature at position lo keeps its smallest member. So a feature can be
/// named by its smallest original index (its representative), positions sort like representatives,
/// and "first maximum in row-major order" is "smallest (row, column) representative pair among the
/// maxima". The matrix is kept at full size, indexed by representatives, and never compacted; the
/// owner of a feature (the model of its smallest member) is representative / C.</para>
/// <para><b>Why a row cache is enough.</b> A merge changes only row lo and column lo (the α ≤ 0
/// branch's masks included) and, on a budget kill, the pairs inside one model. Each row keeps its
/// maximum (first column on ties) and a heap of candidate entries. A row's maximum changes only if
/// its cached column was lo or hi or its row was killed; otherwise it is compared with the new
/// (row, lo) entry and kept. The heap of row x holds its best K entries as of its last full scan
/// plus every later change that sorts before the scan's (K+1)-th entry (the row's <i>bound</i>);
/// entries whose column died or whose value changed are dropped when they reach the top. Any entry
/// not in the heap therefore sorts after the bound, so the first live heap entry is the row's
/// maximum; a row whose heap runs dry is scanned again with K doubled (at K ≥ half the row the heap
/// takes the whole row and needs no bound). The global pick is the best cached row maximum, first
/// row on ties, so the pick sequence is the reference's, ties included, for any (also asymmetric)
/// matrix.</para>
/// <para><b>Exact arithmetic.</b> Updates are the reference's float32 operations on the same operands
/// (min, then multiplication by α rounded to float32), so values match it bit for bit.</para>
/// <para><b>Cost.</b> O(O²) for the first scans, O(O) per merge for the updates and the global pick,
/// at most log₂ O rescans of O per row and one heap push per row and merge: O(O² log O) in the
/// worst case, close to O(O²) on correlation matrices. Memory: the O² float32 matrix plus
/// O(O·K).</para>
/// <para><b>Beyond the reference.</b> When every remaining pair is masked the reference corrupts its
/// output; <see cref="LiftMasks"/> continues without masks instead.</para>
/// </remarks>
public sealed class ZipItGreedy
{
    /// <summary>Entries kept per row after its first scan; more only cost memory, fewer cost rescans.</summary>
    internal const int DefaultCandidates = 16;

    /// <summary>
    /// Up to this K a rescan keeps the best K + 1 in a bounded heap (most entries fail one
    /// comparison); beyond it rows whose entries arrive in rising runs would pay log K per entry, so
    /// a linear-time selection is used.
    /// </summary>
    internal const int DefaultSmallSelection = 64;

    private readonly float[] _s;
    private readonly int _size;
    private readonly int _width;
    private readonly int _models;
    private readonly ZipItOptions _options;
    private readonly float _alpha;

    // Live representatives in increasing order = the reference's current positions.
    private readonly int[] _order;
    private int _count;
    private readonly bool[] _active;

    // Row maximum (first column on ties) of every live row.
    private readonly float[] _bestValue;
    private readonly int[] _bestColumn;

    // Per-row candidate heaps (max-heap in pick order) and their bounds.
    private readonly float[][] _heapValue;
    private readonly int[][] _heapColumn;
    private readonly int[] _heapCount;
    private readonly int[] _candidates;
    private readonly int _smallSelection;
    private readonly float[] _boundValue;
    private readonly int[] _boundColumn;

    // Scratch for a row scan: a heap whose root is the worst of the best K + 1.
    private float[] _scanValue = [];
    private int[] _scanColumn = [];

    // Members of each feature as linked lists headed by the representative.
    private readonly int[] _next;
    private readonly int[] _tail;

    private readonly int[] _budget;
    private readonly int[] _sameModelMerges;
    private readonly bool[]? _maskedAtStart;

    // Depth of every unit in its feature's merge tree: how often α has scaled its similarities.
    private readonly int[] _depth;
    private readonly Func<float[]>? _original;
    private bool _unmasked;
    private int _liftedAt = -1;
    private double _pickSum;

    private ZipItGreedy(float[] similarity, int models, int width, ZipItOptions options, int candidates, int smallSelection, Func<float[]>? original,
        ZipItBudget? budget)
    {
        _smallSelection = smallSelection;
        _original = original;
        _s = similarity;
        _models = models;
        _width = width;
        _size = models * width;
        _options = options;
        _alpha = (float)options.Alpha;
        _order = new int[_size];
        _active = new bool[_size];
        _bestValue = new float[_size];
        _bestColumn = new int[_size];
        _heapValue = new float[_size][];
        _heapColumn = new int[_size][];
        _heapCount = new int[_size];
        _candidates = new int[_size];
        _boundValue = new float[_size];
        _boundColumn = new int[_size];
        _next = new int[_size];
        _tail = new int[_size];
        for (var k = 0; k < _size; k++)
        {
            _order[k] = k;
            _active[k] = true;
            _next[k] = -1;
            _tail[k] = k;
            _candidates[k] = candidates;
        }
        _count = _size;
        _budget = new int[models];
        if (budget is { } b)
        {
            if (b.Start.Length != models || b.MaskedAtStart.Length != models)
                throw new ArgumentException($"the budget covers {b.Start.Length} models, not {models}");
            Array.Copy(b.Start, _budget, models);
            _maskedAtStart = (bool[])b.MaskedAtStart.Clone();
        }
        else Array.Fill(_budget, options.Quota(models, width));
        _sameModelMerges = new int[models];
        _depth = new int[_size];
    }

    /// <summary>
    /// Greedy-matches <paramref name="similarity"/> (row-major [N·C, N·C] float32, overwritten as
    /// scratch) down to C features.
    /// </summary>
    /// <param name="similarity">The similarity; overwritten.</param>
    /// <param name="models">N.</param>
    /// <param name="width">C, units per model and merged features.</param>
    /// <param name="options">α, β and the variants.</param>
    /// <param name="cancellation">Checked every 64 merges.</param>
    /// <param name="original">
    /// Gives the similarity again, unchanged, if every remaining pair ends up masked (see
    /// <see cref="LiftMasks"/>); without it that case throws.
    /// </param>
    /// <exception cref="InvalidOperationException">Every remaining pair is masked and no <paramref name="original"/> was given.</exception>
    public static ZipItGreedyResult Match(float[] similarity, int models, int width, ZipItOptions options,
        Func<float[]>? original = null, CancellationToken cancellation = default) =>
        Match(similarity, models, width, options, original, cancellation, DefaultCandidates, DefaultSmallSelection, budget: null);

    // The tuning knobs and starting budgets: tests force the rescan and selection paths with them,
    // and group zip carries budgets from one group to the next.
    internal static ZipItGreedyResult Match(float[] similarity, int models, int width, ZipItOptions options,
        Func<float[]>? original, CancellationToken cancellation,
        int candidates, int smallSelection = DefaultSmallSelection, ZipItBudget? budget = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(candidates, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(models, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        var size = (long)models * width;
        if (similarity.LongLength != size * size)
            throw new ArgumentException($"similarity has {similarity.LongLength} values, not {size}×{size}");
        var greedy = new ZipItGreedy(similarity, models, width, options, candidates, smallSelection, original, budget);
        var featureOf = greedy.Run(cancellation);
        var merges = size - width;
        return new ZipItGreedyResult(featureOf, greedy._liftedAt, greedy._sameModelMerges, merges > 0 ? greedy._pickSum / merges : 0);
    }

    private int[] Run(CancellationToken cancellation)
    {
        for (var k = 0; k < _size; k++) _s[(long)k * _size + k] = float.NegativeInfinity;
        if (_maskedAtStart is { } masked)
        {
            for (var m = 0; m < _models; m++)
                if (masked[m]) Kill(m);
        }
        else if (_options.StrictBeta && _budget.Length > 0 && _budget[0] <= 0)
            for (var m = 0; m < _models; m++) Kill(m);
        for (var k = 0; k < _size; k++)
        {
            Rescan(k);
            Refresh(k);
        }

        var merges = _size - _width;
        for (var step = 0; step < merges; step++)
        {
            if ((step & 63) == 0) cancellation.ThrowIfCancellationRequested();
            Merge(step);
        }
        return Assignment();
    }

    private void Merge(int step)
    {
        // The first maximum in row-major order: best row maximum, first row on ties.
        var row = _order[0];
        var value = _bestValue[row];
        for (var i = 1; i < _count; i++)
        {
            var r = _order[i];
            if (_bestValue[r] > value) (row, value) = (r, _bestValue[r]);
        }
        if (float.IsNegativeInfinity(value))
        {
            // The reference's argmax would return the diagonal (0, 0) here and drop a feature.
            if (_unmasked || _original is null)
                throw new InvalidOperationException(
                    $"every remaining pair is masked after {step} of {_size - _width} merges, so no valid merge is left");
            LiftMasks();
            _liftedAt = step;
            Merge(step);
            return;
        }

        _pickSum += value;
        var column = _bestColumn[row];
        var lo = Math.Min(row, column);
        var hi = Math.Max(row, column);
        var hiPosition = Array.BinarySearch(_order, 0, _count, hi);
        var loOwner = lo / _width;
        var hiOwner = hi / _width;

        UpdateColumn(lo, hi, loOwner, hiOwner);
        UpdateRow(lo, hi, hiPosition, loOwner, hiOwner);
        if (_options.NoRepeat && !_unmasked)
            for (var i = 0; i < _count; i++)
            {
                var x = _order[i];
                _s[(long)x * _size + lo] = float.NegativeInfinity;
                _s[(long)lo * _size + x] = float.NegativeInfinity;
            }

        Array.Copy(_order, hiPosition + 1, _order, hiPosition, _count - hiPosition - 1);
        _count--;
        _active[hi] = false;
        _next[_tail[lo]] = hi;
        _tail[lo] = _tail[hi];
        for (var k = lo; k >= 0; k = _next[k]) _depth[k]++;

        var killed = -1;
        if (!_unmasked && loOwner == hiOwner)
        {
            _sameModelMerges[loOwner]++;
            if (--_budget[loOwner] <= 0)
            {
                Kill(loOwner);
                killed = loOwner;
            }
        }

        Maintain(lo, hi, killed);
    }

    /// <summary>Column lo := α·min(column lo, column hi) over every current row (hi's row included, as in the reference).</summary>
    private void UpdateColumn(int lo, int hi, int loOwner, int hiOwner)
    {
        var n = _size;
        if (_alpha > 0f)
        {
            var a = _alpha;
            for (var i = 0; i < _count; i++)
            {
                var at = (long)_order[i] * n;
                var x = _s[at + lo];
                var y = _s[at + hi];
                _s[at + lo] = a * (y < x ? y : x);
            }
            return;
        }

        for (var i = 0; i < _count; i++)
        {
            var at = (long)_order[i] * n;
            var x = _s[at + lo];
            var y = _s[at + hi];
            _s[at + lo] = y < x ? y : x;
        }
        if (_unmasked) return;
        // Reference quirk (α ≤ 0): rows [owner·C, (owner+1)·C) of the not yet shrunk matrix are
        // masked, positions that only name the owners' features before the first merge.
        MaskPositions(loOwner, _count, p => (long)_order[p] * n + lo);
        MaskPositions(hiOwner, _count, p => (long)_order[p] * n + lo);
    }

    /// <summary>Row lo := α·min(row lo, row hi) over every column but hi (column lo already updated, so (lo, lo) stays −∞).</summary>
    private void UpdateRow(int lo, int hi, int hiPosition, int loOwner, int hiOwner)
    {
        var loRow = (long)lo * _size;
        var hiRow = (long)hi * _size;
        var a = _alpha;
        var scale = a > 0f;
        for (var i = 0; i < _count; i++)
        {
            var y = _order[i];
            if (y == hi) continue;
            var u = _s[loRow + y];
            var v = _s[hiRow + y];
            var m = v < u ? v : u;
            _s[loRow + y] = scale ? a * m : m;
        }
        if (scale || _unmasked) return;

        // Reference quirk (α ≤ 0): here the column hi is already deleted, so the positions are those
        // of the matrix one narrower.
        MaskPositions(loOwner, _count - 1, p => loRow + _order[p < hiPosition ? p : p + 1]);
        MaskPositions(hiOwner, _count - 1, p => loRow + _order[p < hiPosition ? p : p + 1]);
    }

    /// <summary>
    /// Every remaining pair is masked (spent budgets, the α ≤ 0 ranges, no-repeat), which the
    /// reference does not handle: its argmax lands on the diagonal and a feature is lost. Instead the
    /// masks are lifted and matching goes on from the similarities the features would have had
    /// without them: for features G, H the reference's update rule gives
    /// S[G, H] = min over i ∈ G, j ∈ H of α^(depth i + depth j)·S₀[i, j], with the float32
    /// multiplications done one at a time as the updates do them (min commutes with a monotone
    /// rounding, so this is bit-identical to having carried an unmasked copy along). From here on
    /// no mask is applied.
    /// </summary>
    private void LiftMasks()
    {
        var original = _original!();
        if (original.LongLength != (long)_size * _size)
            throw new InvalidOperationException("the original similarity has the wrong size");
        var n = _size;
        var featureOf = new int[n];
        for (var i = 0; i < _count; i++)
            for (var k = _order[i]; k >= 0; k = _next[k]) featureOf[k] = _order[i];
        for (var i = 0; i < _count; i++)
        {
            var row = (long)_order[i] * n;
            for (var j = 0; j < _count; j++)
                if (i != j) _s[row + _order[j]] = float.PositiveInfinity;
        }

        var a = _alpha;
        var scale = a > 0f;
        for (var i = 0; i < n; i++)
        {
            var gi = featureOf[i];
            var row = (long)gi * n;
            for (var j = 0; j < n; j++)
            {
                var gj = featureOf[j];
                if (gi == gj) continue;
                var v = original[(long)i * n + j];
                if (scale)
                    for (var t = _depth[i] + _depth[j]; t > 0; t--) v = a * v;
                if (v < _s[row + gj]) _s[row + gj] = v;
            }
        }

        _unmasked = true;
        for (var i = 0; i < _count; i++)
        {
            var x = _order[i];
            Rescan(x);
            Refresh(x);
        }
    }

    private void MaskPositions(int owner, int positions, Func<int, long> index)
    {
        var end = Math.Min((owner + 1) * _width, positions);
        for (var p = owner * _width; p < end; p++) _s[index(p)] = float.NegativeInfinity;
    }

    /// <summary>Masks every pair of current features owned by <paramref name="model"/> (budget spent).</summary>
    private void Kill(int model)
    {
        var (start, end) = OwnedRange(model);
        for (var i = start; i < end; i++)
        {
            var row = (long)_order[i] * _size;
            for (var j = start; j < end; j++)
                _s[row + _order[j]] = float.NegativeInfinity;
        }
    }

    /// <summary>Positions in <see cref="_order"/> of the features owned by <paramref name="model"/> (a contiguous run).</summary>
    private (int Start, int End) OwnedRange(int model)
    {
        var start = LowerBound(model * _width);
        var end = LowerBound((model + 1) * _width);
        return (start, end);
    }

    private int LowerBound(int representative)
    {
        int lo = 0, hi = _count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_order[mid] < representative) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    /// <summary>Brings every row's cached maximum and candidate heap up to date after a merge.</summary>
    private void Maintain(int lo, int hi, int killed)
    {
        var (killStart, killEnd) = killed >= 0 ? OwnedRange(killed) : (0, 0);
        Rescan(lo);
        Refresh(lo);
        for (var i = 0; i < _count; i++)
        {
            var x = _order[i];
            if (x == lo) continue;
            Notify(x, lo);
            if (i >= killStart && i < killEnd)
            {
                for (var j = killStart; j < killEnd; j++)
                    if (j != i) Notify(x, _order[j]);
                Refresh(x);
                continue;
            }
            var column = _bestColumn[x];
            if (column == lo || column == hi)
            {
                Refresh(x);
                continue;
            }
            var v = _s[(long)x * _size + lo];
            if (Before(v, lo, _bestValue[x], column))
            {
                _bestValue[x] = v;
                _bestColumn[x] = lo;
            }
        }
    }

    private static bool Before(float v1, int c1, float v2, int c2) => v1 > v2 || (v1 == v2 && c1 < c2);

    /// <summary>Entry (x, c) changed: keep the heap invariant (everything outside the heap sorts after the bound).</summary>
    private void Notify(int x, int c)
    {
        var v = _s[(long)x * _size + c];
        if (Before(v, c, _boundValue[x], _boundColumn[x])) Push(x, v, c);
    }

    private bool IsLive(int x, float v, int c) => _active[c] && c != x && _s[(long)x * _size + c] == v;

    /// <summary>Recomputes row x's maximum from its heap, scanning the row again when the heap has no live entry.</summary>
    private void Refresh(int x)
    {
        while (true)
        {
            var values = _heapValue[x];
            var columns = _heapColumn[x];
            while (_heapCount[x] > 0 && !IsLive(x, values[0], columns[0])) Pop(x);
            if (_heapCount[x] > 0)
            {
                _bestValue[x] = values[0];
                _bestColumn[x] = columns[0];
                return;
            }
            if (_count < 2)
            {
                _bestValue[x] = float.NegativeInfinity;
                _bestColumn[x] = x;
                return;
            }
            _candidates[x] = Math.Min(2 * _candidates[x], _size);
            Rescan(x);
        }
    }

    /// <summary>Rebuilds row x's heap from a full scan: its best K entries, the (K+1)-th as the bound.</summary>
    private void Rescan(int x)
    {
        var k = _candidates[x];
        var others = _count - 1;
        var row = (long)x * _size;
        EnsureHeap(x, Math.Min(others, k) * 2 + 8);
        var values = _heapValue[x];
        var columns = _heapColumn[x];

        // Near the whole row a selection costs more than a heap of everything (and gives no bound).
        if (others <= 2 * k)
        {
            var n = 0;
            for (var i = 0; i < _count; i++)
            {
                var c = _order[i];
                if (c == x) continue;
                values[n] = _s[row + c];
                columns[n] = c;
                n++;
            }
            _heapCount[x] = n;
            Heapify(values, columns, n);
            _boundValue[x] = float.NegativeInfinity;
            _boundColumn[x] = int.MaxValue;
        }
        else if (k <= _smallSelection)
            SelectSmall(x, k, row, values, columns);
        else
            SelectLarge(x, k, row, others, values, columns);
    }


    /// <summary>Best K + 1 of row x in a heap whose root is the worst of them; the root becomes the bound.</summary>
    private void SelectSmall(int x, int k, long row, float[] values, int[] columns)
    {
        var keep = k + 1;
        if (_scanValue.Length < keep)
        {
            _scanValue = new float[keep];
            _scanColumn = new int[keep];
        }
        var sv = _scanValue;
        var sc = _scanColumn;
        var n = 0;
        for (var i = 0; i < _count; i++)
        {
            var c = _order[i];
            if (c == x) continue;
            var v = _s[row + c];
            if (n < keep)
            {
                sv[n] = v;
                sc[n] = c;
                WorstSiftUp(sv, sc, n);
                n++;
            }
            // Columns arrive in increasing order, so an entry equal to the root sorts after it.
            else if (v > sv[0])
            {
                sv[0] = v;
                sc[0] = c;
                WorstSiftDown(sv, sc, 0, n);
            }
        }
        _boundValue[x] = sv[0];
        _boundColumn[x] = sc[0];
        Array.Copy(sv, 1, values, 0, k);
        Array.Copy(sc, 1, columns, 0, k);
        _heapCount[x] = k;
        Heapify(values, columns, k);
    }

    /// <summary>
    /// Best K + 1 of row x by quickselect on one 64-bit key per entry that sorts in pick order
    /// (value descending, then column ascending), with a sort as the fallback when partitions go badly.
    /// </summary>
    private void SelectLarge(int x, int k, long row, int others, float[] values, int[] columns)
    {
        if (_keys.Length < others) _keys = new ulong[Math.Max(others, 2 * _keys.Length)];
        var keys = _keys;
        var n = 0;
        for (var i = 0; i < _count; i++)
        {
            var c = _order[i];
            if (c != x) keys[n++] = Key(_s[row + c], c);
        }

        int lo = 0, hi = n - 1, budget = 64;
        while (hi > lo)
        {
            if (--budget < 0)
            {
                Array.Sort(keys, lo, hi - lo + 1);
                break;
            }
            var p = Partition(keys, lo, hi);
            if (p == k) break;
            if (k < p) hi = p - 1; else lo = p + 1;
        }

        for (var i = 0; i < k; i++)
        {
            var c = (int)(uint)keys[i];
            values[i] = _s[row + c];
            columns[i] = c;
        }
        var boundColumn = (int)(uint)keys[k];
        _boundValue[x] = _s[row + boundColumn];
        _boundColumn[x] = boundColumn;
        _heapCount[x] = k;
        Heapify(values, columns, k);
    }

    private ulong[] _keys = [];

    /// <summary>Smaller key = picked first. −0 and +0 compare equal in the argmax, so they share a key.</summary>
    private static ulong Key(float value, int column)
    {
        var bits = BitConverter.SingleToUInt32Bits(value == 0f ? 0f : value);
        // Map floats to unsigned integers that rise with the value, then invert for descending order.
        var rising = (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
        return ((ulong)~rising << 32) | (uint)column;
    }

    /// <summary>Lomuto partition around the median of three; returns the pivot's final position.</summary>
    private static int Partition(ulong[] keys, int lo, int hi)
    {
        var mid = lo + ((hi - lo) >> 1);
        if (keys[mid] < keys[lo]) (keys[mid], keys[lo]) = (keys[lo], keys[mid]);
        if (keys[hi] < keys[lo]) (keys[hi], keys[lo]) = (keys[lo], keys[hi]);
        if (keys[mid] < keys[hi]) (keys[mid], keys[hi]) = (keys[hi], keys[mid]);
        var pivot = keys[hi];
        var store = lo;
        for (var i = lo; i < hi; i++)
        {
            if (keys[i] >= pivot) continue;
            (keys[i], keys[store]) = (keys[store], keys[i]);
            store++;
        }
        (keys[store], keys[hi]) = (keys[hi], keys[store]);
        return store;
    }

    private void EnsureHeap(int x, int capacity)
    {
        if (_heapValue[x] is { } v && v.Length >= capacity) return;
        _heapValue[x] = new float[capacity];
        _heapColumn[x] = new int[capacity];
    }

    private void Push(int x, float v, int c)
    {
        var n = _heapCount[x];
        if (n == _heapValue[x].Length)
        {
            Compact(x);
            n = _heapCount[x];
            if (n * 4 >= _heapValue[x].Length * 3)
            {
                Array.Resize(ref _heapValue[x], _heapValue[x].Length * 2);
                Array.Resize(ref _heapColumn[x], _heapColumn[x].Length * 2);
            }
        }
        var values = _heapValue[x];
        var columns = _heapColumn[x];
        values[n] = v;
        columns[n] = c;
        _heapCount[x] = n + 1;
        // Sift up in pick order.
        while (n > 0)
        {
            var parent = (n - 1) >> 1;
            if (!Before(values[n], columns[n], values[parent], columns[parent])) break;
            (values[n], values[parent]) = (values[parent], values[n]);
            (columns[n], columns[parent]) = (columns[parent], columns[n]);
            n = parent;
        }
    }

    /// <summary>Drops dead and stale entries, so a heap grows only with live ones.</summary>
    private void Compact(int x)
    {
        var values = _heapValue[x];
        var columns = _heapColumn[x];
        var n = 0;
        for (var i = 0; i < _heapCount[x]; i++)
        {
            if (!IsLive(x, values[i], columns[i])) continue;
            values[n] = values[i];
            columns[n] = columns[i];
            n++;
        }
        _heapCount[x] = n;
        Heapify(values, columns, n);
    }

    private void Pop(int x)
    {
        var values = _heapValue[x];
        var columns = _heapColumn[x];
        var n = --_heapCount[x];
        values[0] = values[n];
        columns[0] = columns[n];
        SiftDown(values, columns, 0, n);
    }

    private static void Heapify(float[] values, int[] columns, int n)
    {
        for (var i = n / 2 - 1; i >= 0; i--) SiftDown(values, columns, i, n);
    }

    private static void SiftDown(float[] values, int[] columns, int i, int n)
    {
        while (true)
        {
            var left = 2 * i + 1;
            if (left >= n) return;
            var best = left;
            var right = left + 1;
            if (right < n && Before(values[right], columns[right], values[left], columns[left])) best = right;
            if (!Before(values[best], columns[best], values[i], columns[i])) return;
            (values[i], values[best]) = (values[best], values[i]);
            (columns[i], columns[best]) = (columns[best], columns[i]);
            i = best;
        }
    }

    // The scan heap keeps the entry that sorts last at its root.
    private static void WorstSiftUp(float[] values, int[] columns, int i)
    {
        while (i > 0)
        {
            var parent = (i - 1) >> 1;
            if (!Before(values[parent], columns[parent], values[i], columns[i])) return;
            (values[i], values[parent]) = (values[parent], values[i]);
            (columns[i], columns[parent]) = (columns[parent], columns[i]);
            i = parent;
        }
    }

    private static void WorstSiftDown(float[] values, int[] columns, int i, int n)
    {
        while (true)
        {
            var left = 2 * i + 1;
            if (left >= n) return;
            var worst = left;
            var right = left + 1;
            if (right < n && Before(values[left], columns[left], values[right], columns[right])) worst = right;
            if (!Before(values[i], columns[i], values[worst], columns[worst])) return;
            (values[i], values[worst]) = (values[worst], values[i]);
            (columns[i], columns[worst]) = (columns[worst], columns[i]);
            i = worst;
        }
    }

    private int[] Assignment()
    {
        var result = new int[_size];
        for (var g = 0; g < _count; g++)
            for (var k = _order[g]; k >= 0; k = _next[k])
                result[k] = g;
        return result;
    }
}
