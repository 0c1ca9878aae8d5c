namespace ZipIt.Engine.Train;

/// <summary>What is trained, from what, and by which recipe; equal options and data give an identical checkpoint.</summary>
internal sealed record TrainOptions
{
    public required string Variant { get; init; }
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();
    public required string Task { get; init; }
    public long Seed { get; init; }
    public TrainingRecipe Recipe { get; init; } = new();
    public string? EmbeddingsFile { get; init; }
    public int ImageSize { get; init; } = 32;
    /// <summary>Train on at most this many images of the training split (a seeded draw); all when null.</summary>
    public long? TrainImages { get; init; }
    /// <summary>A checkpoint of the same architecture to fine-tune from (<c>--init</c>): its trunk, and its head where it fits the task; null: a fresh initialisation.</summary>
    public string? Init { get; init; }

    /// <summary>These options with the recipe resolved for the architecture settings (<see cref="TrainingRecipe.For"/>): what is recorded and keyed on.</summary>
    public TrainOptions Resolved() => this with { Recipe = Recipe.For(Settings) };
}
