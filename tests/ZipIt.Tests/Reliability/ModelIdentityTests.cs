using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Core;
using static ZipIt.Tests.Reliability.ReliabilitySupport;

namespace ZipIt.Tests.Reliability;

/// <summary>Three models, their metrics (a, b) and matches, shared by the identity tests: collecting is the slow part.</summary>
public sealed class IdentityFixture : IDisposable
{
    internal TempDirectory Dir { get; } = new();
    public string A { get; }
    public string B { get; }
    public string C { get; }
    public string Metrics { get; }
    public string Matches { get; }

    public IdentityFixture()
    {
        A = Model(Dir, "a.safetensors", 1);
        B = Model(Dir, "b.safetensors", 2);
        C = Model(Dir, "c.safetensors", 3);
        var data = DataFile(Dir, "d.safetensors", [8, 3, 32, 32]);
        Metrics = Dir.File("metrics.safetensors");
        var collect = Tool.Run("collect", A, B, "--data", data, "-o", Metrics);
        Assert.True(collect.ExitCode == 0, collect.ToString());
        Matches = Dir.File("matches.safetensors");
        var match = Tool.Run("match", Metrics, "-o", Matches, "--matcher", "permute");
        Assert.True(match.ExitCode == 0, match.ToString());
    }

    public void Dispose() => Dir.Dispose();
}

/// <summary>Metrics and matches record the models they were computed from; match and zip refuse others (issue 15, class 3).</summary>
[Trait("Category", ZipIt.Tests.Infrastructure.Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class ModelIdentityTests(IdentityFixture f) : IClassFixture<IdentityFixture>
{
    private string Output(string name) => f.Dir.File($"{name}-{Guid.NewGuid():N}.safetensors");

    [Fact]
    public void Metrics_and_matches_record_each_models_fingerprint_in_order()
    {
        using var metrics = Checkpoint.Open(f.Metrics);
        using var matches = Checkpoint.Open(f.Matches);
        var hashes = System.Text.Json.JsonSerializer.Deserialize<string[]>(metrics.Metadata[MetadataKeys.SourceFingerprints])!;
        Assert.Equal(2, hashes.Length);
        Assert.All(hashes, h => Assert.Matches("^sha256:[0-9a-f]{64}$", h));
        Assert.NotEqual(hashes[0], hashes[1]);
        Assert.Equal(metrics.Metadata[MetadataKeys.SourceFingerprints], matches.Metadata[MetadataKeys.SourceFingerprints]);
        Assert.Equal("[\"a.safetensors\",\"b.safetensors\"]", matches.Metadata[MetadataKeys.Sources]);
    }

    [Fact]
    public void Zip_with_the_same_models_is_accepted_even_from_a_rewritten_file()
    {
        var zip = Tool.Run("zip", f.A, f.B, "--matches", f.Matches, "-o", Output("z"));
        Assert.True(zip.ExitCode == 0, zip.ToString());
        // The identity is the weights', not the file's: other metadata, same tensors.
        using var file = Checkpoint.Open(f.B);
        var copy = Output("b-copy");
        var tensors = file.Entries.ToDictionary(e => e.Name, e => file.Read(e.Name));
        CheckpointWriter.WriteFile(copy, tensors, new Dictionary<string, string> { ["note"] = "copied" });
        foreach (var t in tensors.Values) t.Dispose();
        var again = Tool.Run("zip", f.A, copy, "--matches", f.Matches, "-o", Output("z"));
        Assert.True(again.ExitCode == 0, again.ToString());
    }

    [Fact]
    public void Zip_with_the_models_swapped_is_exit_3_naming_the_file_and_the_model()
    {
        var output = Output("z");
        var zip = Tool.Run("zip", f.B, f.A, "--matches", f.Matches, "-o", output);
        Assert.True(zip.ExitCode == 3, zip.ToString());
        Assert.Single(zip.Error.Trim().Split('\n'));
        Assert.Contains("matches.safetensors", zip.Error);
        Assert.Contains("another order", zip.Error);
        Assert.Contains("b.safetensors", zip.Error);
        Assert.Contains("--no-identity-check", zip.Error);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Zip_with_another_model_is_exit_3_naming_it_and_the_one_expected()
    {
        var output = Output("z");
        var zip = Tool.Run("zip", f.A, f.C, "--matches", f.Matches, "-o", output);
        Assert.True(zip.ExitCode == 3, zip.ToString());
        Assert.Contains("other models", zip.Error);
        Assert.Contains("model 2 was b.safetensors", zip.Error);
        Assert.Contains("c.safetensors", zip.Error);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void No_identity_check_lets_zip_and_match_use_files_for_other_models()
    {
        var zip = Tool.Run("zip", f.B, f.A, "--matches", f.Matches, "-o", Output("z"), "--no-identity-check");
        Assert.True(zip.ExitCode == 0, zip.ToString());
        var matches = Output("m");
        var match = Tool.Run("match", f.Metrics, "-o", matches, "--matcher", "permute", "--models", f.A, f.C, "--no-identity-check");
        Assert.True(match.ExitCode == 0, match.ToString());
        // The overridden matches say which models they were made for: those given.
        var zipC = Tool.Run("zip", f.A, f.C, "--matches", matches, "-o", Output("z"));
        Assert.True(zipC.ExitCode == 0, zipC.ToString());
    }

    [Fact]
    public void Match_given_models_checks_them_against_the_metrics()
    {
        var swapped = Tool.Run("match", f.Metrics, "-o", Output("m"), "--matcher", "permute", "--models", f.B, f.A);
        Assert.True(swapped.ExitCode == 3, swapped.ToString());
        Assert.Contains("metrics.safetensors was computed with the models in another order", swapped.Error);
        var other = Tool.Run("match", f.Metrics, "-o", Output("m"), "--matcher", "permute", "--models", f.C, f.B);
        Assert.True(other.ExitCode == 3, other.ToString());
        Assert.Contains("model 1 was a.safetensors", other.Error);
        var same = Tool.Run("match", f.Metrics, "-o", Output("m"), "--matcher", "permute", "--models", f.A, f.B);
        Assert.True(same.ExitCode == 0, same.ToString());
    }

    [Fact]
    public void Matches_without_fingerprints_from_an_older_zipit_warn_and_zip()
    {
        using var file = Checkpoint.Open(f.Matches);
        var old = Output("old");
        var tensors = file.Entries.ToDictionary(e => e.Name, e => file.Read(e.Name));
        CheckpointWriter.WriteFile(old, tensors, file.Metadata.Where(kv => kv.Key != MetadataKeys.SourceFingerprints).ToDictionary());
        foreach (var t in tensors.Values) t.Dispose();
        var zip = Tool.Run("zip", f.B, f.A, "--matches", old, "-o", Output("z"));
        Assert.True(zip.ExitCode == 0, zip.ToString());
        Assert.Contains("does not record which models", zip.Error);
    }
}
