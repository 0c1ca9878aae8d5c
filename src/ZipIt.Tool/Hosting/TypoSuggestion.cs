using ZipIt.Engine.Core;

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
        var scored = candidates.Distinct().Select(c => (Candidate: c, Distance: EditDistance.Between(bare, c.TrimStart('-')))).Where(x => x.Distance <= limit)
            .OrderBy(x => x.Distance).ThenBy(x => x.Candidate, StringComparer.Ordinal).ToList();
        if (scored.Count == 0) return null;
        return scored.Count > 1 && scored[1].Distance == scored[0].Distance ? null : scored[0].Candidate;
    }
}
