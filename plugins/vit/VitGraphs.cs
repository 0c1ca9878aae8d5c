namespace ZipIt.Plugins.Vit;

/// <summary>
/// The merge graph of a ViT (MuDSC §9.1/§10.1). One residual stream runs through the whole
/// network: the patch embedding, the class token and position embedding write it, every block's
/// <c>attn.proj</c> and <c>mlp.fc2</c> add to it, every LayerNorm and LayerScale acts on it
/// channel-wise, and every <c>qkv</c>, <c>fc1</c> and the <c>head</c> read it. Each block adds
/// three spaces: <c>qk</c> (the q and k rows of the fused <c>qkv</c>, one matching shared by both
/// so q·k is preserved), <c>v</c> (the v rows, read by <c>attn.proj</c>) and <c>mlp</c>; qk and v
/// are grouped by heads and tied, so a head's q, k and v move together.
/// </summary>
internal static class VitGraphs
{
    /// <summary>The residual stream's name; every trunk stage ends in it.</summary>
    public const string Stream = "stream";

    /// <summary>The alternative tap set that observes the stream at every block's output tokens.</summary>
    public const string BlocksTapSet = "blocks";

    /// <summary>
    /// The alternative tap set that observes a block's q/k space as the MuDSC reference code does:
    /// its k slice, listed twice (the reference taps <c>attn.k_norm</c> for both the q and the k
    /// entry, so q is never seen), for reproducing its published numbers exactly.
    /// </summary>
    public const string MuDscReferenceTapSet = "mudsc-reference";

    public static MergeGraph Describe(VitSpec spec)
    {
        var c = spec.Width;
        var spaces = new List<FeatureSpace>();
        var layerScales = new List<TensorAxis>();
        var stream = new FeatureSpaceBuilder(Stream, c)
            .ProducedBy("patch_embed.proj", bias: true);
        if (spec.ClassToken) stream.ProducedBy(new TensorAxis("cls_token", 2, TensorKind.Embedding));
        stream.ProducedBy(new TensorAxis("pos_embed", 2, TensorKind.Embedding));

        for (var d = 0; d < spec.Depth; d++)
        {
            var block = $"blocks.{d}";
            var qkv = $"{block}.attn.qkv";
            var tie = $"{block}.heads";

            var qk = new FeatureSpaceBuilder($"{block}.attn.qk", c);
            foreach (var offset in new long[] { 0, c })
            {
                qk.ProducedBy(new TensorAxis($"{qkv}.weight", 0) { Offset = offset, Length = c });
                if (spec.QkvBias) qk.ProducedBy(new TensorAxis($"{qkv}.bias", 0, TensorKind.Bias) { Offset = offset, Length = c });
                // q then k as two sample sets of one space (not k twice).
                qk.Tap(new FeatureTap(qkv, TapSite.Output, -1) { Offset = offset, Length = c });
            }
            for (var entry = 0; entry < 2; entry++)
                qk.Tap(new FeatureTap(qkv, TapSite.Output, -1) { Offset = c, Length = c, Set = MuDscReferenceTapSet });
            spaces.Add(qk.Grouped(spec.Heads, tie).Build());

            var v = new FeatureSpaceBuilder($"{block}.attn.v", c)
                .ProducedBy(new TensorAxis($"{qkv}.weight", 0) { Offset = 2L * c, Length = c });
            if (spec.QkvBias) v.ProducedBy(new TensorAxis($"{qkv}.bias", 0, TensorKind.Bias) { Offset = 2L * c, Length = c });
            spaces.Add(v.ConsumedBy($"{block}.attn.proj").TapInput($"{block}.attn.proj", -1).Grouped(spec.Heads, tie).Build());

            spaces.Add(new FeatureSpaceBuilder($"{block}.mlp", spec.MlpHidden)
                .ProducedBy($"{block}.mlp.fc1", bias: true)
                .ConsumedBy($"{block}.mlp.fc2")
                .TapInput($"{block}.mlp.fc2", -1)
                .Build());

            stream.AffineNorm($"{block}.norm1").AffineNorm($"{block}.norm2")
                .ConsumedBy(qkv).ConsumedBy($"{block}.mlp.fc1")
                .ProducedBy($"{block}.attn.proj", bias: true).ProducedBy($"{block}.mlp.fc2", bias: true);
            // LayerScale scales the stream channel-wise, as a norm's weight does.
            if (spec.LayerScale)
                layerScales.AddRange([new TensorAxis($"{block}.ls1.gamma", 0, TensorKind.NormWeight), new TensorAxis($"{block}.ls2.gamma", 0, TensorKind.NormWeight)]);
            stream.Tap(new FeatureTap(block, TapSite.Output, -1) { Set = BlocksTapSet });
        }
        stream.AffineNorm(spec.Pool == VitPool.Token ? "norm" : "fc_norm").ConsumedBy("head").TapInput("head");
        var built = stream.ResidualStream().Build();
        spaces.Add(built with { Norms = [.. built.Norms, .. layerScales] });

        var stages = new List<ModelStage>
        {
            new("embed", spec.ClassToken ? ["patch_embed", "cls_token", "pos_embed"] : ["patch_embed", "pos_embed"], Stream, 1) { OutputChannelAxis = -1 },
        };
        for (var d = 0; d < spec.Depth; d++)
            stages.Add(new ModelStage($"blocks.{d}", [$"blocks.{d}"], Stream, 1 + 4 * (d + 1)) { OutputChannelAxis = -1 });
        stages.Add(new ModelStage("head", spec.Pool == VitPool.Token ? ["norm", "head"] : ["fc_norm", "head"], null, null));

        return new MergeGraph(spaces, stages, spec.LayerCount)
        {
            Inputs = [new TensorAxis("patch_embed.proj.weight", 1)],
            Outputs = [new TensorAxis("head.weight", 0), new TensorAxis("head.bias", 0, TensorKind.Bias)],
        };
    }
}
