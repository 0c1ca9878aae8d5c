namespace ZipIt.Engine.Models;

/// <summary>
/// Architecture settings the user gave (<c>--arch-set heads=6</c>) for what checkpoints do not
/// record; every checkpoint the command loads is recognised with them (<see cref="CheckpointSignature.Hints"/>).
/// </summary>
internal sealed record RecognitionHints(IReadOnlyDictionary<string, string> Values)
{
    public static readonly RecognitionHints None = new(new Dictionary<string, string>());
}
