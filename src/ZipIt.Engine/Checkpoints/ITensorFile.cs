using System.Diagnostics.CodeAnalysis;
using static TorchSharp.torch;

namespace ZipIt.Engine.Checkpoints;

/// <summary>One file of tensors that <see cref="Checkpoint"/> reads: a .safetensors file or a torch.save file.</summary>
internal interface ITensorFile : IDisposable
{
    /// <summary>The file's metadata; empty when it has none.</summary>
    IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Every tensor, in the order of their data in the file.</summary>
    IReadOnlyList<TensorEntry> Entries { get; }

    /// <summary>Things in the file that were left out (a wrapper's epoch, an optimizer), one line each.</summary>
    IReadOnlyList<string> Notes { get; }

    bool TryGetEntry(string name, [MaybeNullWhen(false)] out TensorEntry entry);

    /// <summary>Reads one tensor of this file: a new contiguous CPU tensor the caller disposes.</summary>
    Tensor Read(TensorEntry entry);
}
