namespace ZipIt.Engine.Evaluate;

/// <summary>How a head's output is read.</summary>
public enum HeadKind
{
    /// <summary>Class logits: over all classes (global ids), or over its own task's classes for a per-task head.</summary>
    Logits,
    /// <summary>An embedding compared by cosine with fixed class embeddings (ZipIt!'s CLIP-style heads).</summary>
    Clip,
}
