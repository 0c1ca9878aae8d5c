namespace ZipIt.Hosting;

/// <summary>
/// "Did you mean" for a mistyped command or option: the one candidate within a small edit distance
/// (Damerau–Levenshtein: a swapped pair of letters is one edit), as git and the dotnet CLI suggest.
/// Short tokens get no suggestion: at two letters every option is close.
/// </summary>
internal static class TypoSuggestion
{
    /// <summary>The closest of <paramref name="candidates"/> to <paramref name="token"/>, or null when none is close or two are equally close.</summary>
    public static string? Closest(string token, IEnumerable<string> candidates)
    {
        var bare = token.TrimStart('-');
        if (bare.Length < 3) return null;
        var limit = bare.Length <= 5 ? 1 : 2;
        var scored = candidates.Distinct().Select(c => (Candidate: c, Distance: Distance(bare, c.TrimStart('-')))).Where(x => x.Distance <= limit)
            .OrderBy(x => x.Distance).ThenBy(x => x.Candidate, StringComparer.Ordinal).ToList();
        if (scored.Count == 0) return null;
        return scored.Count > 1 && scored[1].Distance == scored[0].Distance ? null : scored[0].Candidate;
    }

    /// <summary>The optimal string alignment distance between <paramref name="a"/> and <paramref name="b"/>.</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}
