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
    /// Checks the description against a model's tensors (its <c>state_dict()</c> names, dtypes and
    /// shapes) and returns every problem found, one line each naming the tensor and axis (empty when
    /// consistent):
    /// <list type="bullet">
    /// <item>structure: unknown tensors, axes out of range, slice lengths that differ from the width,
    /// the same axis slice claimed twice (by spaces, <see cref="Inputs"/> or <see cref="Outputs"/>),
    /// groups that do not divide the width, stage names and output spaces, tensors owned by no stage
    /// or by two;</item>
    /// <item>coverage: every floating-point tensor with at least one axis is described, and each of
    /// its feature axes lies wholly in feature spaces, <see cref="Inputs"/> or <see cref="Outputs"/>.
    /// Feature axes are axes 0 and 1 of a tensor with two or more axes (a conv/linear weight's output
    /// rows and input columns; kernel axes are not), axis 0 of a vector (biases, norm vectors,
    /// running statistics), and the described axes of a <see cref="TensorKind.Embedding"/> tensor.
    /// Integer tensors (BatchNorm's <c>num_batches_tracked</c>) are exempt.</item>
    /// </list>
    /// </summary>
    /// <param name="tensors">Every tensor of the model by state-dict key.</param>
    public IReadOnlyList<string> Validate(IReadOnlyDictionary<string, TensorSignature> tensors)
    {
        var problems = new List<string>();
        var names = new HashSet<string>();
        var claimed = new Dictionary<(string, int), List<(long Start, long End, string Owner)>>();
        var described = new Dictionary<string, List<TensorAxis>>();

        void Claim(TensorAxis axis, string owner, int? width)
        {
            if (!described.TryGetValue(axis.Tensor, out var list)) described[axis.Tensor] = list = [];
            list.Add(axis);
            if (!tensors.TryGetValue(axis.Tensor, out var signature))
            {
                problems.Add($"{owner}: tensor '{axis.Tensor}' does not exist");
                return;
            }
            var shape = signature.Shape;
            if (axis.Axis < 0 || axis.Axis >= shape.Length)
            {
                problems.Add($"{owner}: tensor '{axis.Tensor}' has no axis {axis.Axis} (shape [{string.Join(",", shape)}])");
                return;
            }
            var length = axis.Length ?? shape[axis.Axis] - axis.Offset;
            if (axis.Offset < 0 || length < 0 || axis.Offset + length > shape[axis.Axis])
                problems.Add($"{owner}: {axis} lies outside axis length {shape[axis.Axis]}");
            else if (width is { } w && length != w)
                problems.Add($"{owner}: {axis} has {length} units, the space has {w}");
            var key = (axis.Tensor, axis.Axis);
            if (!claimed.TryGetValue(key, out var spans)) claimed[key] = spans = [];
            foreach (var (start, end, other) in spans)
                if (axis.Offset < end && start < axis.Offset + length)
                    problems.Add($"tensor '{axis.Tensor}' axis {axis.Axis} is claimed by both {other} and {owner}");
            spans.Add((axis.Offset, axis.Offset + length, owner));
        }

        foreach (var space in Spaces)
        {
            if (!names.Add(space.Name)) problems.Add($"feature space '{space.Name}' is described twice");
            if (space.Width <= 0) problems.Add($"feature space '{space.Name}' has width {space.Width}");
            if (space.Taps.Count == 0) problems.Add($"feature space '{space.Name}' has no tap");
            if (space.Groups is { } g && (g.Count <= 0 || space.Width % g.Count != 0))
                problems.Add($"feature space '{space.Name}': {g.Count} groups do not divide width {space.Width}");
            foreach (var axis in space.AllAxes) Claim(axis, $"feature space '{space.Name}'", space.Width);
        }
        foreach (var axis in Inputs) Claim(axis, "the model inputs", null);
        foreach (var axis in Outputs) Claim(axis, "the model outputs", null);

        var stageNames = new HashSet<string>();
        foreach (var stage in Stages)
        {
            if (!stageNames.Add(stage.Name)) problems.Add($"stage '{stage.Name}' is described twice");
            if (stage.OutputSpace is { } s && !names.Contains(s))
                problems.Add($"stage '{stage.Name}' ends in unknown feature space '{s}'");
        }
        foreach (var tensor in tensors.Keys.Order(StringComparer.Ordinal))
        {
            var owners = Stages.Count(st => st.Owns(tensor));
            if (owners != 1) problems.Add($"tensor '{tensor}' belongs to {owners} stages");
        }

        foreach (var (name, signature) in tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (!signature.IsFloatingPoint || signature.Shape.Length == 0) continue;
            if (!described.TryGetValue(name, out var axes))
            {
                problems.Add($"tensor '{name}' is described by no feature space, model input or model output");
                continue;
            }
            var embedding = axes.Where(a => a.Kind == TensorKind.Embedding).Select(a => a.Axis).Distinct().ToList();
            var featureAxes = embedding.Count > 0 ? embedding : signature.Shape.Length >= 2 ? [0, 1] : [0];
            foreach (var axis in featureAxes.Where(a => a >= 0 && a < signature.Shape.Length))
            {
                // An input column left out is a forgotten input declaration; anything else writes units.
                var role = embedding.Count == 0 && axis == 1 ? "model input" : "model output";
                var spans = claimed.GetValueOrDefault((name, axis)) ?? [];
                foreach (var (start, end) in Gaps(spans, signature.Shape[axis]))
                {
                    var where = start == 0 && end == signature.Shape[axis] ? $"axis {axis}" : $"axis {axis} units [{start}, {end})";
                    problems.Add($"tensor '{name}' {where} is in no feature space and not declared a {role}");
                }
            }
        }
        return problems;
    }

    /// <summary>The parts of [0, length) that no span covers, in order.</summary>
    private static IEnumerable<(long Start, long End)> Gaps(IEnumerable<(long Start, long End, string Owner)> spans, long length)
    {
        var next = 0L;
        foreach (var (start, end, _) in spans.OrderBy(s => s.Start))
        {
            if (start > next) yield return (next, Math.Min(start, length));
            next = Math.Max(next, end);
            if (next >= length) yield break;
        }
        if (next < length) yield return (next, length);
    }
}
