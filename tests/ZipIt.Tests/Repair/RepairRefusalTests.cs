using TorchSharp;
using ZipIt.Engine.Core;
using ZipIt.Engine.Repair;
using ZipIt.Tests.Engine;
using ZipIt.Tests.Vit;
using static TorchSharp.torch;
using static ZipIt.Tests.Repair.RepairTestSupport;

namespace ZipIt.Tests.Repair;

/// <summary>
/// What REPAIR refuses, each in one line with its exit code, and what it leaves: a refusal or a
/// cancellation leaves the merged model exactly as the zip made it.
/// </summary>
public sealed class RepairRefusalTests
{
    private static readonly IArchitecture Architecture = VitTestUtil.Architecture;
    private static readonly ArchitectureConfig Config = VitTestUtil.Architecture.Configure("vit_pico_patch4_32");

    [Fact]
    public void No_calibration_images_is_exit_3_and_changes_nothing()
    {
        using var data = Images(0, 32, seed: 3);
        using var a = Model(Architecture, Config, "a.safetensors", seed: 5);
        using var b = Model(Architecture, Config, "b.safetensors", seed: 6);
        var matches = ZipperTests.IdentityMatches(a.Graph);
        using var merged = Zip([a, b], matches);
        var before = Snapshot(merged);

        var e = Assert.Throws<ZipItException>(() => RepairStage.Run([a, b], merged, matches, data, batchSize: 4));

        Assert.Equal(ExitCode.Input, e.Code);
        Assert.Equal("calibration: a repair needs calibration images, and there are none", e.Message);
        Assert.Empty(Changed(before, Snapshot(merged)));
    }

    [Fact]
    public void Matches_that_miss_a_merged_point_or_do_not_fit_it_are_exit_3()
    {
        using var data = Images(2, 32, seed: 3);
        using var a = Model(Architecture, Config, "a.safetensors", seed: 5);
        using var b = Model(Architecture, Config, "b.safetensors", seed: 6);
        var matches = ZipperTests.IdentityMatches(a.Graph);
        using var merged = Zip([a, b], matches);

        var missing = matches.Where(kv => kv.Key != "blocks.1.mlp").ToDictionary();
        var e = Assert.Throws<ZipItException>(() => RepairStage.Run([a, b], merged, missing, data, batchSize: 2));
        Assert.Equal(ExitCode.Input, e.Code);
        Assert.Equal("the matches do not cover merge point 'blocks.1.mlp', which merged.safetensors merges", e.Message);

        var three = new Dictionary<string, MatchResult>(matches) { ["stream"] = new(zeros(96, 288), zeros(288, 96)) };
        e = Assert.Throws<ZipItException>(() => RepairStage.Run([a, b], merged, three, data, batchSize: 2));
        Assert.Equal(ExitCode.Input, e.Code);
        Assert.Equal("merge point 'stream': the merge matrix is [96,288], 2 models of 96 units need [96,192]", e.Message);
    }

    [Fact]
    public void A_cancelled_repair_restores_every_parameter_it_changed()
    {
        using var data = Images(12, 32, seed: 3);
        using var a = Model(Architecture, Config, "a.safetensors", seed: 5);
        using var b = Model(Architecture, Config, "b.safetensors", seed: 6);
        var matches = UnevenMatches(a.Graph, seed: 7);
        using var merged = Zip([a, b], matches);
        var before = Snapshot(merged);
        using var cancel = new CancellationTokenSource();
        // Cancelled in the first batch of the pass that measures the merged model's blocks.2.norm1
        // (its first run is the probe of the run order): by then every site before it was corrected.
        var modules = merged.Model.named_modules().ToDictionary(m => m.name, m => m.module);
        var runs = 0;
        var changedWhenCancelled = 0;
        var hook = ((nn.Module<Tensor, Tensor>)modules["blocks.2.norm1"]).register_forward_hook((_, _, _) =>
        {
            if (++runs == 2)
            {
                changedWhenCancelled = Changed(before, Snapshot(merged)).Count;
                cancel.Cancel();
            }
            return null!;
        });
        try
        {
            Assert.ThrowsAny<OperationCanceledException>(() => RepairStage.Run([a, b], merged, matches, data, batchSize: 4, cancel.Token));
        }
        finally
        {
            hook.remove();
        }

        Assert.True(changedWhenCancelled > 0, "nothing was corrected before the cancellation: the test proves nothing");
        Assert.Empty(Changed(before, Snapshot(merged)));
    }
}
