namespace ZipIt;

/// <summary>
/// The declarative merge description of one model configuration: its feature spaces in processing
/// order (a topological order of the network) and its stages in forward order.
/// </summary>
/// <param name="Spaces">Merge points, in the order the engine processes them.</param>
/// <param name="Stages">Forward-pass stages; the last one produces the model output.</param>
/// <param name="LayerCount">The paper's m in "ZipIt!n/m": weight layers of the whole model, shortcut convs not counted.</param>
public sealed record MergeGraph(IReadOnlyList<FeatureSpace> Spaces, IReadOnlyList<ModelStage> Stages, int LayerCount)
{
    /// <summary>
    /// Axes that index the model's input channels (the first conv's or patch embedding's input
    /// columns): they belong to no feature space and are never transformed.
    /// </summary>
    public IReadOnlyList<TensorAxis> Inputs { get; init; } = [];

    /// <summary>
    /// Axes that index the model's outputs (the classifier's rows and bias): shared by every model,
    /// never transformed, averaged by a full zip.
    /// </summary>
    public IReadOnlyList<TensorAxis> Outputs { get; init; } = [];

    /// <summary>The space called <paramref name="name"/>; throws <see cref="KeyNotFoundException"/> naming it.</summary>
    public FeatureSpace Space(string name) =>
        Spaces.FirstOrDefault(s => s.Name == name) ?? throw new KeyNotFoundException($"no feature space '{name}'");

    /// <summary>The index of the stage owning <paramref name="tensor"/>, or -1.</summary>
    public int StageOf(string tensor)
    {
        for (var i = 0; i < Stages.Count; i++)
            if (Stages[i].Owns(tensor)) return i;
        return -1;
    }

    /// <summary>
    /// Checks the description against a model's tensor shapes and returns every problem found (empty
    /// when consistent): unknown tensors, axes out of range, slice lengths that differ from the
    /// width, the same axis slice claimed twice, groups that do not divide the width, stage names and
    /// output spaces, tensors owned by no stage or by two.
    /// </summary>
    public IReadOnlyList<string> Validate(IReadOnlyDictionary<string, long[]> shapes)
    {
        var problems = new List<string>();
        var names = new HashSet<string>();
        var claimed = new Dictionary<(string, int), List<(long Start, long End, string Space)>>();
        foreach (var space in Spaces)
        {
            if (!names.Add(space.Name)) problems.Add($"feature space '{space.Name}' is described twice");
            if (space.Width <= 0) problems.Add($"feature space '{space.Name}' has width {space.Width}");
            if (space.Taps.Count == 0) problems.Add($"feature space '{space.Name}' has no tap");
            if (space.Groups is { } g && (g.Count <= 0 || space.Width % g.Count != 0))
                problems.Add($"feature space '{space.Name}': {g.Count} groups do not divide width {space.Width}");
            foreach (var axis in space.AllAxes)
            {
                if (!shapes.TryGetValue(axis.Tensor, out var shape))
                {
                    problems.Add($"feature space '{space.Name}': tensor '{axis.Tensor}' does not exist");
                    continue;
                }
                if (axis.Axis < 0 || axis.Axis >= shape.Length)
                {
                    problems.Add($"feature space '{space.Name}': tensor '{axis.Tensor}' has no axis {axis.Axis} (shape [{string.Join(",", shape)}])");
                    continue;
                }
                var length = axis.Length ?? shape[axis.Axis] - axis.Offset;
                if (axis.Offset < 0 || axis.Offset + length > shape[axis.Axis])
                    problems.Add($"feature space '{space.Name}': {axis} lies outside axis length {shape[axis.Axis]}");
                else if (length != space.Width)
                    problems.Add($"feature space '{space.Name}': {axis} has {length} units, the space has {space.Width}");
                var key = (axis.Tensor, axis.Axis);
                if (!claimed.TryGetValue(key, out var spans)) claimed[key] = spans = [];
                foreach (var (start, end, other) in spans)
                    if (axis.Offset < end && start < axis.Offset + length)
                        problems.Add($"tensor '{axis.Tensor}' axis {axis.Axis} is claimed by both '{other}' and '{space.Name}'");
                spans.Add((axis.Offset, axis.Offset + length, space.Name));
            }
        }
        var stageNames = new HashSet<string>();
        foreach (var stage in Stages)
        {
            if (!stageNames.Add(stage.Name)) problems.Add($"stage '{stage.Name}' is described twice");
            if (stage.OutputSpace is { } s && !names.Contains(s))
                problems.Add($"stage '{stage.Name}' ends in unknown feature space '{s}'");
        }
        foreach (var tensor in shapes.Keys)
        {
            var owners = Stages.Count(st => st.Owns(tensor));
            if (owners != 1) problems.Add($"tensor '{tensor}' belongs to {owners} stages");
        }
        return problems;
    }
}
