using System.Collections;

using ZipIt.Matching;

namespace ZipIt.Engine.Matching;

/// <summary>
/// What match produces and zip consumes: one <see cref="MatchResult"/> (M, U) per merge point. It
/// owns their tensors: dispose it on every path.
/// </summary>
internal sealed class MatchSet(IReadOnlyDictionary<string, MatchResult> matches) : IReadOnlyDictionary<string, MatchResult>, IDisposable
{
    public MatchResult this[string key] => matches[key];
    public IEnumerable<string> Keys => matches.Keys;
    public IEnumerable<MatchResult> Values => matches.Values;
    public int Count => matches.Count;
    public bool ContainsKey(string key) => matches.ContainsKey(key);
    public bool TryGetValue(string key, out MatchResult value) => matches.TryGetValue(key, out value!);
    public IEnumerator<KeyValuePair<string, MatchResult>> GetEnumerator() => matches.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public void Dispose()
    {
        foreach (var m in matches.Values)
        {
            m.Merge.Dispose();
            m.Unmerge.Dispose();
        }
    }
}
