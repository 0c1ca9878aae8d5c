using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using TorchSharp;
using ZipIt.Engine.Zip;
using static TorchSharp.torch;

namespace ZipIt.Engine.Models;

/// <summary>
/// The identity of a model's weights: <c>sha256:HEX</c> over its tensors in ordinal name order,
/// each as its name, dtype, shape and little-endian bytes. It depends on the weights only, not on
/// the file that held them: a model converted between formats, renamed, or stripped of a wrapper
/// prefix keeps its fingerprint; one changed weight, one reordered channel or one reset BatchNorm
/// statistic changes it. Metrics and matches files record their models' fingerprints
/// (<see cref="SourceFingerprints"/>) so that a later stage can tell it was given the same models.
/// </summary>
internal static class ModelFingerprint
{
    public const string Prefix = "sha256:";

    // Bytes hashed per TensorSharp span: a span's length is an int.
    private const long ChunkElements = 1 << 24;

    /// <summary>The fingerprint of <paramref name="model"/>'s weights as its checkpoint holds them (for a partial zip: trunk stages, head stages under <c>heads.i.</c>, entry transforms).</summary>
    public static string Of(LoadedModel model)
    {
        if (model.Layout is not { } layout) return Of(model.Model.state_dict());
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var trunk = model.Model.state_dict();
        foreach (var (key, modelKey, head) in layout.Keys(trunk.Keys, model.Graph))
            if (modelKey is not null) tensors[key] = head < 0 ? trunk[modelKey] : model.Heads[head].state_dict()[modelKey];
        for (var h = 0; h < model.EntryTransforms.Count; h++) tensors[HeadLayout.EntryKey(h)] = model.EntryTransforms[h];
        return Of(tensors);
    }

    /// <summary>The fingerprint of a set of named tensors (on any device; none is modified or disposed).</summary>
    public static string Of(IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, tensor) in tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            hash.AppendData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
                $"{name}\0{tensor.dtype}\0{string.Join(",", tensor.shape)}\n")));
            Append(hash, tensor);
        }
        return Prefix + Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static void Append(IncrementalHash hash, Tensor tensor)
    {
        if (tensor.NumberOfElements == 0) return;
        using var scope = torch.NewDisposeScope();
        var source = tensor.device_type == DeviceType.CPU ? tensor : tensor.cpu();
        if (!source.is_contiguous()) source = source.contiguous();
        var flat = source.view(-1);
        for (long done = 0; done < flat.NumberOfElements; done += ChunkElements)
            hash.AppendData(flat.narrow(0, done, Math.Min(ChunkElements, flat.NumberOfElements - done)).bytes);
    }
}
