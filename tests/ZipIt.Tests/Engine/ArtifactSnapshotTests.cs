using ZipIt.Tests.Infrastructure;
using Snapshooter;
using Snapshooter.Xunit;
using ZipIt.Engine.Checkpoints;
using ZipIt.Tests.Cli;
using ZipIt.Engine.Core;

namespace ZipIt.Tests.Engine;

/// <summary>The key lists and metadata of every artifact the stages write are part of the file formats: pinned by snapshots.</summary>
[Trait("Category", Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class ArtifactSnapshotTests
{
    [Fact]
    public void Metrics_matches_and_merged_checkpoints_have_not_changed()
    {
        using var dir = new TempDirectory();
        var model = Repository.Fixture("parity", "resnet20x2_cifar.safetensors");
        var data = CollectTests.WriteImages(dir, 6);
        Run("collect", model, model, "--data", data, "-o", dir.File("metrics.safetensors"), "--reset-bn", "false");
        Run("match", dir.File("metrics.safetensors"), "-o", dir.File("matches.safetensors"), "--matcher", "permute");
        Run("zip", model, model, "--matches", dir.File("matches.safetensors"), "-o", dir.File("full.safetensors"));
        Run("zip", model, model, "--matches", dir.File("matches.safetensors"), "-o", dir.File("partial.safetensors"), "--stop", "19");
        foreach (var name in new[] { "metrics", "matches", "full", "partial" })
        {
            using var file = Checkpoint.Open(dir.File(name + ".safetensors"));
            var description = new
            {
                metadata = file.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary(),
                tensors = file.Entries.OrderBy(e => e.Name, StringComparer.Ordinal).Select(e => $"{e.Name} {e.DType} [{string.Join(",", e.Shape)}]"),
            };
            Snapshot.Match(description, SnapshotNameExtension.Create(name));
        }
    }

    private static void Run(params string[] args)
    {
        var result = Tool.Run(args);
        Assert.True(result.ExitCode == 0, result.ToString());
    }
}
