using TorchSharp;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Matching;
using ZipIt.Tests.Engine;
using static TorchSharp.torch;
using static ZipIt.Tests.Vit.VitTestUtil;
using ZipIt.Engine.Core;
using ZipIt.Matching;

namespace ZipIt.Tests.Vit;

/// <summary>
/// A tiny fused-qkv ViT through collect and zip, checked against hand computations: the qk space's
/// taps are two channel slices of one qkv output stacked as samples; zip transforms the q, k and v
/// row slices of qkv by their own spaces' matrices and the class token and position embedding on
/// their channel axis.
/// </summary>
public sealed class VitSyntheticTests
{
    private const int C = 8;
    private static readonly Dictionary<string, string> Settings = new()
    {
        ["width"] = "8", ["heads"] = "2", ["depth"] = "1", ["mlp_hidden"] = "16", ["patch"] = "4", ["image_size"] = "8", ["classes"] = "3", ["layer_scale"] = "true",
    };

    private static (ArchitectureConfig Config, string A, string B) Models(TempDirectory dir)
    {
        var config = Architecture.Configure(VitRecognizeName, Settings);
        var paths = new List<string>();
        foreach (var seed in new ulong[] { 1, 2 })
        {
            using var model = Architecture.Create(config);
            ZipIt.Tests.ResNet.ResNetTestUtil.Randomise(model, seed);
            var path = dir.File($"m{seed}.safetensors");
            CheckpointWriter.WriteFile(path, model.state_dict(), ZipIt.Engine.Checkpoints.ArchitectureMetadata.For(config));
            paths.Add(path);
        }
        return (config, paths[0], paths[1]);
    }

    private const string VitRecognizeName = "vit-custom";

    /// <summary>
    /// By default q then k are two sample sets of the qk space; tap set <c>mudsc-reference</c>
    /// observes k twice (q never), as the MuDSC reference code does, which gives k's statistics.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Collect_stacks_the_q_and_k_slices_of_qkv_as_samples(bool reference)
    {
        using var dir = new TempDirectory();
        var (config, a, b) = Models(dir);
        var images = PermutationRecoveryTests.Images(dir, "images.safetensors", 5, 8, seed: 3);
        var metrics = dir.File("metrics.safetensors");
        string[] collect = ["collect", a, b, "--data", images, "-o", metrics];
        if (reference) collect = [.. collect, "--tap-set", "mudsc-reference"];
        Assert.Equal(0, Tool.Run(collect).ExitCode);

        using var file = Checkpoint.Open(images);
        using var x = file.Read("images");
        var q = new List<Tensor>();
        var head = new List<Tensor>();
        foreach (var path in new[] { a, b })
        {
            using var ckpt = Checkpoint.Open(path);
            var w = ckpt.ReadAll();
            using var model = Architecture.Create(config);
            model.load_state_dict(w);
            model.eval();
            using var _ = no_grad();
            using var tokens = model.forward_stage(0, x);
            using var normed = nn.functional.layer_norm(tokens, [C], w["blocks.0.norm1.weight"], w["blocks.0.norm1.bias"], 1e-6);
            using var qkv = nn.functional.linear(normed, w["blocks.0.attn.qkv.weight"], w["blocks.0.attn.qkv.bias"]);
            // q tokens then k tokens: [C, 2·B·T].
            q.Add(torch.cat([qkv.narrow(2, reference ? C : 0, C).reshape(-1, C).t(), qkv.narrow(2, C, C).reshape(-1, C).t()], 1));
            using var blocks = model.forward_stage(1, tokens);
            head.Add(nn.functional.layer_norm(blocks.select(1, 0), [C], w["norm.weight"], w["norm.bias"], 1e-6).t());
            foreach (var t in w.Values) t.Dispose();
        }
        using var m = Checkpoint.Open(metrics);
        foreach (var (space, parts) in new[] { ("blocks.0.attn.qk", q), ("stream", head) })
        {
            using var stacked = torch.cat(parts, 0).to(ScalarType.Float64);
            using var mean = stacked.mean([1]);
            using var covariance = torch.mm(stacked, stacked.t()) / stacked.shape[1] - torch.outer(mean, mean);
            using var gotMean = m.Read(space + ".mean");
            using var gotCovariance = m.Read(space + ".covariance");
            Assert.True(MaxAbsDiff(gotMean, mean) < 1e-5, $"{space}: mean differs by {MaxAbsDiff(gotMean, mean):E3}");
            Assert.True(MaxAbsDiff(gotCovariance, covariance) < 1e-5, $"{space}: covariance differs by {MaxAbsDiff(gotCovariance, covariance):E3}");
            foreach (var p in parts) p.Dispose();
        }
    }

    [Fact]
    public void Tap_set_blocks_observes_the_stream_at_every_blocks_tokens_and_an_unknown_set_is_a_usage_error()
    {
        using var dir = new TempDirectory();
        var (_, a, b) = Models(dir);
        var data = PermutationRecoveryTests.Images(dir, "data.safetensors", 6, 8, seed: 3);
        var pooled = dir.File("pooled.safetensors");
        var tokens = dir.File("tokens.safetensors");
        Assert.Equal(0, Tool.Run("collect", a, b, "--data", data, "-o", pooled).ExitCode);
        var result = Tool.Run("collect", a, b, "--data", data, "-o", tokens, "--tap-set", "blocks");
        Assert.True(result.ExitCode == 0, result.ToString());
        using (var p = Checkpoint.Open(pooled))
        using (var t = Checkpoint.Open(tokens))
        {
            // The stream's statistics change (pooled head input vs every token of every block);
            // the per-block spaces have no alternative taps and keep theirs.
            Assert.False(p.Read("stream.covariance").allclose(t.Read("stream.covariance")));
            Assert.True(p.Read("blocks.0.mlp.covariance").allclose(t.Read("blocks.0.mlp.covariance")));
        }

        var unknown = Tool.Run("collect", a, b, "--data", data, "-o", dir.File("x.safetensors"), "--tap-set", "everything");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("--tap-set everything", unknown.Error);
        Assert.Contains("blocks", unknown.Error);
        Assert.False(File.Exists(dir.File("x.safetensors")));
    }

    [Fact]
    public void Zip_applies_each_space_to_its_slice_and_the_embeddings_on_their_channel_axis()
    {
        using var dir = new TempDirectory();
        var (config, a, b) = Models(dir);
        var graph = Architecture.Describe(config);
        using var g = new Generator(9);
        var matches = graph.Spaces.ToDictionary(s => s.Name, s => new MatchResult(
            randn(s.Width, 2L * s.Width, generator: g), randn(2L * s.Width, s.Width, generator: g)));
        var matchesPath = dir.File("matches.safetensors");
        MatchesFile.Write(matchesPath, 2, graph.Spaces.Select(s => s.Name).ToList(), matches, "hand-made", new Dictionary<string, string>());
        var zipped = dir.File("zipped.safetensors");
        var result = Tool.Run("zip", a, b, "--matches", matchesPath, "-o", zipped);
        Assert.True(result.ExitCode == 0, result.ToString());

        Tensor M(string space, int i) => matches[space].Merge.narrow(1, i * (matches[space].Merge.shape[0]), matches[space].Merge.shape[0]);
        Tensor U(string space, int i) => matches[space].Unmerge.narrow(0, i * (matches[space].Unmerge.shape[1]), matches[space].Unmerge.shape[1]);
        using var ca = Checkpoint.Open(a);
        using var cb = Checkpoint.Open(b);
        var w = new[] { ca.ReadAll(), cb.ReadAll() };
        using var z = Checkpoint.Open(zipped);
        const string qkv = "blocks.0.attn.qkv";
        // W* = mean over models of (2·Mᵢ)·Wᵢ·Uᵢ = Σᵢ Mᵢ·Wᵢ·Uᵢ for producers; consumers alone get the mean of Wᵢ·Uᵢ.
        var expected = new Dictionary<string, Tensor>
        {
            ["cls_token"] = Sum(i => torch.matmul(w[i]["cls_token"], M("stream", i).t())),
            ["pos_embed"] = Sum(i => torch.matmul(w[i]["pos_embed"], M("stream", i).t())),
            [qkv + ".weight"] = Sum(i => torch.cat([
                M("blocks.0.attn.qk", i).mm(w[i][qkv + ".weight"].narrow(0, 0, C)),
                M("blocks.0.attn.qk", i).mm(w[i][qkv + ".weight"].narrow(0, C, C)),
                M("blocks.0.attn.v", i).mm(w[i][qkv + ".weight"].narrow(0, 2 * C, C))]).mm(U("stream", i))),
            [qkv + ".bias"] = Sum(i => torch.cat([
                M("blocks.0.attn.qk", i).mv(w[i][qkv + ".bias"].narrow(0, 0, C)),
                M("blocks.0.attn.qk", i).mv(w[i][qkv + ".bias"].narrow(0, C, C)),
                M("blocks.0.attn.v", i).mv(w[i][qkv + ".bias"].narrow(0, 2 * C, C))])),
            ["blocks.0.attn.proj.weight"] = Sum(i => M("stream", i).mm(w[i]["blocks.0.attn.proj.weight"]).mm(U("blocks.0.attn.v", i))),
            ["blocks.0.ls1.gamma"] = Sum(i => M("stream", i).mv(w[i]["blocks.0.ls1.gamma"])),
            ["blocks.0.mlp.fc2.weight"] = Sum(i => M("stream", i).mm(w[i]["blocks.0.mlp.fc2.weight"]).mm(U("blocks.0.mlp", i))),
            ["head.weight"] = Sum(i => w[i]["head.weight"].mm(U("stream", i))) / 2,
            ["head.bias"] = (w[0]["head.bias"] + w[1]["head.bias"]) / 2,
            ["patch_embed.proj.weight"] = Sum(i => torch.einsum("oc,cikl->oikl", M("stream", i), w[i]["patch_embed.proj.weight"])),
        };
        foreach (var (key, value) in expected)
        {
            using var got = z.Read(key);
            var error = MaxAbsDiff(got, value);
            Assert.True(error < 1e-4, $"{key}: zipped differs from the hand computation by {error:E3}");
        }
    }

    private static Tensor Sum(Func<int, Tensor> term) => term(0) + term(1);
}
