namespace ZipIt.Engine.Core;

/// <summary>
/// Every <c>zipit.*</c> key zipit writes into a safetensors <c>__metadata__</c>, in one place, so
/// readers and writers cannot drift apart. Values are strings; JSON where a value is structured.
/// </summary>
public static class MetadataKeys
{
    // What a file is.
    /// <summary><c>model</c> (or absent), <c>metrics</c>, <c>matches</c>.</summary>
    public const string Kind = "zipit.kind";

    // Which model: lets a checkpoint zipit wrote reload without recognition.
    /// <summary>The architecture family (<c>resnet</c>, <c>vit</c>).</summary>
    public const string Architecture = "zipit.architecture";
    /// <summary>The variant name.</summary>
    public const string Variant = "zipit.variant";
    /// <summary>The architecture settings, a JSON object of strings.</summary>
    public const string Config = "zipit.config";

    // Multi-head (partially zipped) checkpoints.
    /// <summary>The name of the last merged stage.</summary>
    public const string Stop = "zipit.stop";
    /// <summary>The number of heads, N.</summary>
    public const string Heads = "zipit.heads";
    /// <summary>The feature space whose unmerge each head applies to the trunk's output (heads.i.zipit_entry_transform), when the stream runs on into the heads.</summary>
    public const string EntrySpace = "zipit.entry_space";
    /// <summary>"n/m" of ZipIt!n/m.</summary>
    public const string StopLabel = "zipit.stop_label";
    /// <summary>The tasks of the heads (JSON list), head i answering task i.</summary>
    public const string Tasks = "zipit.tasks";

    // How a merged model was made.
    /// <summary>The source checkpoints' file names (JSON list).</summary>
    public const string Sources = "zipit.sources";
    /// <summary>The SHA-256 of each source checkpoint's file (JSON list of <c>sha256:HEX</c>, as <c>sha256sum</c> prints), in model order: in a merged checkpoint, what was merged.</summary>
    public const string SourceHashes = "zipit.source_hashes";
    /// <summary>The sources' weight fingerprints (JSON list of <c>sha256:HEX</c>, see <c>Models/ModelFingerprint</c>), in model order: in metrics and matches files, the models they were computed from, whatever their file format.</summary>
    public const string SourceFingerprints = "zipit.source_fingerprints";
    /// <summary>How a model was refit by the <c>refit</c> command: variant, ridge, calibration images (JSON object).</summary>
    public const string Refit = "zipit.refit";
    /// <summary>The resolved recipe (JSON).</summary>
    public const string Recipe = "zipit.recipe";
    /// <summary>The matcher name.</summary>
    public const string Matcher = "zipit.matcher";
    /// <summary>The matcher's effective settings (JSON object).</summary>
    public const string MatcherSettings = "zipit.matcher_settings";

    // Statistics and matches.
    /// <summary>The point order of a metrics or matches file (JSON list).</summary>
    public const string Points = "zipit.points";
    /// <summary>Calibration images a metrics file was collected over.</summary>
    public const string Images = "zipit.images";

    // Training.
    /// <summary>The training recipe a model was trained by (JSON; also the model cache's key).</summary>
    public const string TrainingRecipe = "zipit.training_recipe";
    /// <summary>The training options and results (JSON).</summary>
    public const string Training = "zipit.training";
    /// <summary>The task a model was trained on (DATASET:CLASSES).</summary>
    public const string Task = "zipit.task";
    /// <summary>Its class ids (JSON list).</summary>
    public const string Classes = "zipit.classes";
    /// <summary>Its class names (JSON list).</summary>
    public const string ClassNames = "zipit.class_names";
    /// <summary>Its head kind (<c>clip</c> or <c>logits</c>).</summary>
    public const string Head = "zipit.head";
    /// <summary>How the model takes its images (JSON: size, channels, mean, std, resize, crop_pct, interpolation; see <c>Data/Preprocessing</c>).</summary>
    public const string Preprocess = "zipit.preprocess";
    /// <summary>Its class-embedding source.</summary>
    public const string Embedding = "zipit.embedding";
    /// <summary>Its training seed.</summary>
    public const string Seed = "zipit.seed";
    /// <summary>
    /// The model a fine-tuned model started from (<c>train --init</c>), JSON: its file name, the
    /// SHA-256 of its bytes, and whether its classifier head was kept or re-initialised.
    /// </summary>
    public const string InitializedFrom = "zipit.initialized_from";
    /// <summary>Where a model came from (e.g. a class-embeddings file's source).</summary>
    public const string Source = "zipit.source";
}
