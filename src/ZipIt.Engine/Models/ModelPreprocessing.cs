using System.Text.Json;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Core;
using ZipIt.Engine.Data;

namespace ZipIt.Engine.Models;

/// <summary>
/// The preprocessing a loaded model takes its images by, from what its checkpoint says, in this
/// order: its own <c>zipit.preprocess</c>; a timm folder's <c>config.json</c> <c>pretrained_cfg</c>;
/// the training task it records (a checkpoint <c>zipit train</c> wrote before preprocessing was
/// recorded: the dataset's training statistics at the training image size, as training used them).
/// </summary>
internal static class ModelPreprocessing
{
    /// <summary>A model's preprocessing and where it was read from (for messages), or null and why not.</summary>
    public sealed record Found(Preprocessing? Value, string From);

    public static Found Of(LoadedModel model)
    {
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(model.Path));
        var metadata = model.Metadata;
        if (metadata.TryGetValue(MetadataKeys.Preprocess, out var json))
            return new(Preprocessing.FromJson(json, name), $"{name}'s {MetadataKeys.Preprocess}");
        if (metadata.TryGetValue(ModelConfigFile.PretrainedConfigKey, out var pretrained))
        {
            using var document = Parse(pretrained, name);
            if (Preprocessing.FromTimmConfig(document.RootElement, $"{name}/config.json") is { } timm)
                return new(timm, $"{name}/config.json's pretrained_cfg");
        }
        if (metadata.TryGetValue(MetadataKeys.Task, out var task) && metadata.ContainsKey(MetadataKeys.TrainingRecipe))
        {
            var spec = TaskSpec.Parse(task);
            var size = TrainingImageSize(metadata, name);
            try
            {
                var (mean, std) = DataTask.StatisticsOf(DatasetCatalog.Open(spec.Dataset).Train);
                return new(new Preprocessing(size, InputChannels(model) ?? 3, mean, std), $"{name}'s training task {task} (its dataset's statistics)");
            }
            catch (ZipItException e) when (e.Code == ExitCode.Input)
            {
                return new(null, $"{name} was trained on {task}, which cannot be read here ({e.Message})");
            }
        }
        return new(null, $"{name} records no preprocessing");
    }

    /// <summary>What the models say together: the one preprocessing, or the conflict, and why none is known.</summary>
    /// <param name="Value">The shared preprocessing (with the overrides applied); null when none is known or the models disagree.</param>
    /// <param name="Conflict">Which two models disagree and how, when they do and no override settles it.</param>
    /// <param name="Why">Where <see cref="Value"/> came from, or why there is none.</param>
    public sealed record Agreement(Preprocessing? Value, string? Conflict, string Why);

    /// <summary>
    /// The one preprocessing <paramref name="models"/> share, with <paramref name="overrides"/>
    /// (<c>--preprocess</c>: a preset or KEY=VALUE items) applied on top. A preset or a complete
    /// override settles models that disagree; otherwise their disagreement is the
    /// <see cref="Agreement.Conflict"/>.
    /// </summary>
    public static Agreement Agree(IReadOnlyList<LoadedModel> models, IReadOnlyList<string>? overrides, string option)
    {
        var found = models.Select(Of).ToList();
        var known = found.Where(f => f.Value is not null).ToList();
        var first = known.FirstOrDefault();
        var disagreeing = known.FirstOrDefault(f => !f.Value!.SameAs(first!.Value!));
        var conflict = disagreeing is null ? null
            : $"the models take their images differently: {first!.From} says {first.Value}, {disagreeing.From} says {disagreeing.Value}";
        if (overrides is { Count: > 0 })
        {
            if (conflict is not null && !IsComplete(overrides))
                return new(null, conflict + $" ({option} must then give size, mean and std, or a preset)", "");
            return new(Preprocessing.Apply(first?.Value, overrides, option), null, first is null ? option : $"{first.From}, with {option}");
        }
        if (conflict is not null) return new(null, conflict, "");
        if (first is null) return new(null, null, found.Count == 0 ? "no model is given to take it from" : string.Join("; ", found.Select(f => f.From).Distinct()));
        var others = found.Where(f => f.Value is null).Select(f => f.From).ToList();
        return new(first.Value, null, others.Count == 0 ? first.From : $"{first.From} ({string.Join("; ", others)})");
    }

    private static bool IsComplete(IReadOnlyList<string> overrides) =>
        overrides.Any(o => Preprocessing.Presets.ContainsKey(o)) || new[] { "size", "mean", "std" }.All(k => overrides.Any(o => o.StartsWith(k + "=", StringComparison.OrdinalIgnoreCase)));

    /// <summary>The image size training used (<c>zipit.training</c>'s options.imageSize; 32, the training default, when absent).</summary>
    private static int TrainingImageSize(IReadOnlyDictionary<string, string> metadata, string name)
    {
        if (!metadata.TryGetValue(MetadataKeys.Training, out var training)) return 32;
        using var document = Parse(training, name);
        return document.RootElement.TryGetProperty("options", out var options) && options.ValueKind == JsonValueKind.Object
            && options.TryGetProperty("imageSize", out var size) && size.TryGetInt32(out var s) ? s : 32;
    }

    /// <summary>The channels of the weight that reads the model's input, where the graph declares one.</summary>
    public static int? InputChannels(LoadedModel model)
    {
        var state = model.Model.state_dict();
        foreach (var input in model.Graph.Inputs)
            if (state.TryGetValue(input.Tensor, out var weight) && input.Axis < weight.dim() && weight.dim() == 4)
                return (int)weight.shape[input.Axis];
        return null;
    }

    private static JsonDocument Parse(string json, string name)
    {
        try
        {
            return JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw ZipItException.Input($"{name}: metadata is not valid JSON ({Messages.OneLine(e.Message)})", e);
        }
    }
}
