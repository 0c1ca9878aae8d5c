using Xunit.Abstractions;
using static TorchSharp.torch;
using static ZipIt.Tests.Vit.VitTestUtil;

namespace ZipIt.Tests.Vit;

/// <summary>
/// The ViT merge graph is complete and correct: permuting the stream, the heads as blocks (q and k
/// sharing one within-head permutation, v its own) and the MLP through the graph's axes alone
/// leaves timm's fixtures computing the same function; moving v's heads without q/k's does not.
/// </summary>
public class VitSymmetryTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("timm_vit_p4_d96_h3_l3")]
    [InlineData("timm_vit_p4_d64_h4_l2_ls_avg")]
    [InlineData("timm_vit_p4_d64_h2_l2_nocls")]
    public void Permuting_every_space_keeps_the_output(string name)
    {
        var (model, config) = LoadFixture(name);
        using var _m = model;
        using var input = FixtureInput(name);
        using var reference = Eval(model, input);
        var graph = Architecture.Describe(config);
        foreach (var seed in new ulong[] { 1, 2 })
        {
            var permuted = VitPermutation.Apply(model.state_dict(), graph, seed);
            using var twin = Architecture.Create(config);
            twin.load_state_dict(permuted);
            using var result = Eval(twin, input);
            var error = MaxAbsDiff(reference, result);
            var changed = permuted.Where(kv => kv.Value.is_floating_point()).Max(kv => MaxAbsDiff(kv.Value, model.state_dict()[kv.Key]));
            output.WriteLine($"{name} seed {seed}: max |permuted - original| = {error:E3}; weights moved by up to {changed:F3}");
            Assert.True(changed > 0.1, "the permutation moved nothing");
            Assert.True(error <= 1e-4, $"permuted model differs by {error:E3}");
            foreach (var t in permuted.Values) t.Dispose();
        }
    }

    [Theory]
    // With average pooling the last block's attention pattern averages out (the pooled output is
    // nearly the mean of v whichever head attends where), so only the class-token fixture shows it clearly.
    [InlineData("timm_vit_p4_d96_h3_l3")]
    public void Moving_v_heads_without_q_and_k_changes_the_output(string name)
    {
        var (model, config) = LoadFixture(name);
        using var _m = model;
        // The fixtures' attention is nearly uniform (small random weights), and uniform attention
        // is the same for every head: sharpen q so each head attends differently.
        using (no_grad())
            foreach (var (key, t) in model.state_dict().Where(kv => kv.Key.EndsWith(".attn.qkv.weight", StringComparison.Ordinal)))
                t.narrow(0, 0, t.shape[1]).mul_(8);
        using var input = FixtureInput(name);
        using var reference = Eval(model, input);
        var tied = VitPermutation.Apply(model.state_dict(), Architecture.Describe(config), 3);
        using (var same = Architecture.Create(config))
        {
            same.load_state_dict(tied);
            using var kept = Eval(same, input);
            Assert.True(MaxAbsDiff(reference, kept) <= 1e-4, "the sharpened model is not symmetric under tied head permutations");
        }
        foreach (var t in tied.Values) t.Dispose();
        var permuted = VitPermutation.Apply(model.state_dict(), Architecture.Describe(config), 3, untie: true);
        using var twin = Architecture.Create(config);
        twin.load_state_dict(permuted);
        using var result = Eval(twin, input);
        var error = MaxAbsDiff(reference, result);
        output.WriteLine($"{name}, v heads moved apart from q/k heads: max diff {error:E3}");
        Assert.True(error > 1e-2, $"untied head permutation went unnoticed ({error:E3})");
        foreach (var t in permuted.Values) t.Dispose();
    }

    [Fact]
    public void Leaving_out_an_embedding_axis_changes_the_output()
    {
        var (model, config) = LoadFixture("timm_vit_p4_d96_h3_l3");
        using var _m = model;
        using var input = FixtureInput("timm_vit_p4_d96_h3_l3");
        using var reference = Eval(model, input);
        var graph = Architecture.Describe(config);
        foreach (var tensor in new[] { "cls_token", "pos_embed" })
        {
            var broken = graph with
            {
                Spaces = graph.Spaces.Select(s => s with { Producers = s.Producers.Where(a => a.Tensor != tensor).ToArray() }).ToArray(),
            };
            var permuted = VitPermutation.Apply(model.state_dict(), broken, 4);
            using var twin = Architecture.Create(config);
            twin.load_state_dict(permuted);
            using var result = Eval(twin, input);
            var error = MaxAbsDiff(reference, result);
            output.WriteLine($"without {tensor}: max diff {error:E3}");
            Assert.True(error > 1e-2, $"leaving {tensor} out went unnoticed ({error:E3})");
            foreach (var t in permuted.Values) t.Dispose();
        }
    }
}
