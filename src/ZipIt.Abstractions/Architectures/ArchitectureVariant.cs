namespace ZipIt;

/// <summary>A named, registered variant of an architecture family (timm's <c>register_model</c>).</summary>
/// <param name="Name">Variant name, e.g. <c>resnet20</c>.</param>
/// <param name="Description">One line: depth, widths, what checkpoints it matches.</param>
public sealed record ArchitectureVariant(string Name, string Description);
