namespace ZipIt.Engine.Checkpoints;

/// <summary>The file format of a checkpoint's tensor files.</summary>
public enum CheckpointFormat
{
    /// <summary>safetensors (Hugging Face).</summary>
    Safetensors,

    /// <summary>torch.save's zip format (PyTorch 1.6 and later): a zip of data.pkl and raw storages.</summary>
    PyTorchZip,

    /// <summary>torch.save's legacy format (before PyTorch 1.6, or <c>_use_new_zipfile_serialization=False</c>).</summary>
    PyTorchLegacy,
}
