using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ZipIt.Engine.Output;
using ZipIt.Engine.Train;

namespace ZipIt.Engine.Reproduce;

/// <summary>
/// Trained models kept between runs, keyed by how they were made: the SHA-256 of the training options
/// (the recipe, every field of it, among them) and of zipit's version, so a changed option or a new zipit trains afresh and an unchanged one
/// is reused. Entries are whole checkpoints written atomically, so an interrupted run leaves none half-written.
/// </summary>
internal sealed class ModelCache(string folder)
{
    public string Folder { get; } = folder;

    /// <summary>The entry for these options, with their recipe resolved as training resolves it (the logit scale chosen for the normalisation).</summary>
    public string PathFor(TrainOptions options)
    {
        options = options.Resolved();
        // The release (0.1.0), not the build's commit: a rebuilt tool of one version reuses its models.
        var version = (typeof(ModelCache).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "").Split('+')[0];
        var key = JsonSerializer.Serialize(options, Json.Compact) + "\n" + version;
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..16];
        var task = new string(options.Task.Select(c => char.IsAsciiLetterOrDigit(c) || c == '-' ? c : '_').ToArray());
        return Path.Combine(Folder, $"{options.Variant}-{task}-seed{options.Seed}-{hash}.safetensors");
    }
}
