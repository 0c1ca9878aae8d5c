using ZipIt.Engine.Core;

namespace ZipIt.Engine.Models;

/// <summary>
/// Models to be merged must be ordinary single-head checkpoints: a partial zip (a merged trunk plus
/// one head per model) is an output of merging, and zipping it again would silently use its first head.
/// </summary>
internal static class SingleHeadCheck
{
    /// <summary>Exit 3 naming the first partial zip among <paramref name="models"/>.</summary>
    public static void Require(IEnumerable<LoadedModel> models)
    {
        foreach (var model in models)
            if (model.Layout is { } layout)
                throw ZipItException.Input(
                    $"{model.Name} is a partial zip with {layout.Heads} heads; merge its source models instead");
    }
}
