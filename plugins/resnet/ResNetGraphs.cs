namespace ZipIt.Plugins.ResNet;

/// <summary>
/// The merge graph of a ResNet (ZipIt! §5.1/§5.2, MuDSC §10.2/§10.3), derived by walking the
/// network in forward order. A residual stream is one feature space from the layer that opens it
/// (the stem conv, or a block's projection shortcut) until the next projection shortcut reads it:
/// identity shortcuts carry it through unchanged, so every block in between writes into it (its
/// last conv + norm) and reads from it (its conv1). A stream is emitted where the reference puts
/// its PREFIX node, at its tap, which gives the reference's processing order.
/// </summary>
internal static class ResNetGraphs
{
    /// <summary>The paper labels a stop after layer3 of ResNet-50 "ZipIt!37/50" (a plain count gives 40; FLOPs confirm it is layer3's end).</summary>
    private const int ResNet50Layer3Label = 37;

    public static MergeGraph Describe(ResNetSpec spec)
    {
        var spaces = new List<FeatureSpace>();
        var stageOutputs = new string?[spec.StageCount + 1];

        var stream = new Stream("stem", spec.StemChannels);
        stream.Produce("conv1", "bn1");

        for (var s = 1; s <= spec.StageCount; s++)
        {
            for (var b = 0; b < spec.Blocks[s - 1]; b++)
            {
                var block = $"layer{s}.{b}";
                var projection = spec.HasProjection(s, b);
                stream.Consume($"{block}.conv1");
                if (projection)
                {
                    stream.Consume($"{block}.{spec.ShortcutName}.0");
                    spaces.Add(stream.Build(spec, tapInputOf: block));
                    // A stream closed at a stage's first block is that stage boundary's output.
                    if (b == 0) stageOutputs[s - 1] = stream.Name;
                }

                var last = spec.ConvsPerBlock;
                for (var i = 1; i < last; i++)
                {
                    var name = spec.Block == ResNetBlock.Basic ? $"{block}.inner" : $"{block}.inner{i}";
                    var inner = new Stream(name, spec.Planes(s), residual: false);
                    inner.Produce($"{block}.conv{i}", $"{block}.bn{i}");
                    inner.Consume($"{block}.conv{i + 1}");
                    spaces.Add(inner.Build(spec, tapInputOf: $"{block}.conv{i + 1}"));
                }

                if (projection)
                {
                    stream = new Stream($"layer{s}", spec.StreamChannels(s));
                    stream.Produce($"{block}.conv{last}", $"{block}.bn{last}");
                    stream.Produce($"{block}.{spec.ShortcutName}.0", $"{block}.{spec.ShortcutName}.1");
                }
                else
                {
                    // An identity shortcut: the block writes into the stream it read, which from
                    // now on is this stage's stream (the CIFAR stem joins layer1 this way).
                    stream.Name = $"layer{s}";
                    stream.Produce($"{block}.conv{last}", $"{block}.bn{last}");
                }
            }
        }
        stream.Consume(spec.HeadName);
        spaces.Add(stream.Build(spec, tapInputOf: "avgpool"));
        stageOutputs[spec.StageCount] = stream.Name;

        var stages = new List<ModelStage>();
        var layers = 1;
        stages.Add(Stage("stem", spec.Style == ResNetStyle.Cifar ? ["conv1", "bn1"] : ["conv1", "bn1", "maxpool"], stageOutputs[0], layers));
        for (var s = 1; s <= spec.StageCount; s++)
        {
            layers += spec.Blocks[s - 1] * spec.ConvsPerBlock;
            var label = spec.IsStandardResNet50 && s == 3 ? ResNet50Layer3Label : layers;
            stages.Add(Stage($"layer{s}", [$"layer{s}"], stageOutputs[s], label));
        }
        stages.Add(new ModelStage("head", ["avgpool", spec.HeadName], null, null));
        return new MergeGraph(spaces, stages, spec.LayerCount)
        {
            // The image channels the stem reads, and the class scores the head writes: shared by
            // every model, so no merge transforms them.
            Inputs = [new TensorAxis("conv1.weight", 1)],
            Outputs = [new TensorAxis($"{spec.HeadName}.weight", 0), new TensorAxis($"{spec.HeadName}.bias", 0, TensorKind.Bias)],
        };
    }

    private static ModelStage Stage(string name, string[] modules, string? output, int label) =>
        new(name, modules, output, output is null ? null : label);

    /// <summary>A feature space being collected during the walk.</summary>
    private sealed class Stream(string name, int width, bool residual = true)
    {
        private readonly List<(string Conv, string Norm)> _producers = [];
        private readonly List<string> _consumers = [];

        public string Name { get; set; } = name;

        public void Produce(string conv, string norm) => _producers.Add((conv, norm));

        public void Consume(string module) => _consumers.Add(module);

        public FeatureSpace Build(ResNetSpec spec, string tapInputOf)
        {
            var builder = new FeatureSpaceBuilder(Name, width);
            foreach (var (conv, norm) in _producers)
            {
                builder.ProducedBy(conv);
                if (spec.Norm == ResNetNorm.BatchNorm) builder.BatchNorm(norm);
                else builder.AffineNorm(norm);
            }
            foreach (var consumer in _consumers) builder.ConsumedBy(consumer);
            builder.TapInput(tapInputOf);
            // GroupNorm normalises contiguous channel groups, so a merge must keep groups whole (MuDSC §9.2).
            if (spec.Norm == ResNetNorm.GroupNorm) builder.Grouped(spec.Groups);
            if (residual) builder.ResidualStream();
            return builder.Build();
        }
    }
}
