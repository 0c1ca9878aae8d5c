namespace ZipIt.Engine.Models;

/// <summary>
/// The prefix training frameworks put before every state-dict key, stripped on load so such
/// checkpoints are recognised: <c>module.</c> (DataParallel / DistributedDataParallel), <c>model.</c>
/// (Lightning modules holding the network as <c>self.model</c>) and <c>_orig_mod.</c>
/// (<c>torch.compile</c>), also nested (<c>module._orig_mod.</c>). A prefix is stripped only when
/// every key carries it, as timm's and Lightning's key filters do.
/// </summary>
internal sealed record KeyRemapping(string Prefix)
{
    public static readonly KeyRemapping None = new("");

    private static readonly string[] Known = ["module.", "model.", "_orig_mod."];

    /// <summary>The prefix shared by every key of <paramref name="keys"/> (repeatedly, for nested wrappers), or <see cref="None"/>.</summary>
    public static KeyRemapping For(IReadOnlyCollection<string> keys)
    {
        var prefix = "";
        while (keys.Count > 0)
        {
            var next = Known.FirstOrDefault(p => keys.All(k => k.Length > prefix.Length + p.Length && string.CompareOrdinal(k, prefix.Length, p, 0, p.Length) == 0));
            if (next is null) break;
            prefix += next;
        }
        return prefix.Length == 0 ? None : new KeyRemapping(prefix);
    }

    public bool IsNone => Prefix.Length == 0;

    /// <summary>The model's key for a checkpoint key.</summary>
    public string ToModel(string checkpointKey) => checkpointKey[Prefix.Length..];

    /// <summary>The checkpoint's key for a model key.</summary>
    public string ToCheckpoint(string modelKey) => Prefix + modelKey;
}
