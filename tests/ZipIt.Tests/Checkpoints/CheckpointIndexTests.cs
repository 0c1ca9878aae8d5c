using TorchSharp;
using ZipIt.Engine.Checkpoints;
using static TorchSharp.torch;

namespace ZipIt.Tests.Checkpoints;

/// <summary>Sharded-index validation: each inconsistency is a one-line exit-code-3 error.</summary>
public class CheckpointIndexTests
{
    private const string Index = Checkpoint.IndexFileName;

    /// <summary>Writes shards by hand: shard file name → tensor names (each a 2-float tensor).</summary>
    private static void Shards(TempDirectory dir, params (string File, string[] Tensors)[] shards)
    {
        foreach (var (file, names) in shards)
        {
            var tensors = names.Select(n => new KeyValuePair<string, Tensor>(n, torch.ones(2))).ToList();
            CheckpointWriter.WriteFile(dir.File(file), tensors, new Dictionary<string, string> { ["shard"] = file });
            foreach (var t in tensors) t.Value.Dispose();
        }
    }

    private static void WriteIndex(TempDirectory dir, string json) => File.WriteAllText(dir.File(Index), json);

    [Fact]
    public void Metadata_IndexStringsOverFirstShard()
    {
        using var dir = new TempDirectory();
        Shards(dir, ("s2.safetensors", ["b"]), ("s1.safetensors", ["a"]));
        WriteIndex(dir, """{"metadata": {"total_size": 16, "shard": "from index", "extra": "x", "n": 3}, "weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}}""");
        using var ckpt = Checkpoint.Open(dir.File(Index));
        Assert.Equal(new Dictionary<string, string> { ["shard"] = "from index", ["extra"] = "x" }, ckpt.Metadata);
        Assert.Equal(["a", "b"], ckpt.Entries.Select(e => e.Name)); // s1 first: shards in ordinal file order
    }

    [Fact]
    public void Metadata_FirstShardWhenIndexHasNone()
    {
        using var dir = new TempDirectory();
        Shards(dir, ("s2.safetensors", ["b"]), ("s1.safetensors", ["a"]));
        WriteIndex(dir, """{"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}}""");
        using var ckpt = Checkpoint.Open(dir.Path); // the directory finds the index
        Assert.Equal(new Dictionary<string, string> { ["shard"] = "s1.safetensors" }, ckpt.Metadata);
    }

    [Fact]
    public void MissingShardFile()
    {
        using var dir = new TempDirectory();
        Shards(dir, ("s1.safetensors", ["a"]));
        WriteIndex(dir, """{"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}}""");
        CheckpointAssert.InputError(() => Checkpoint.Open(dir.Path).Dispose(), Index, "'s2.safetensors'", "not found");
    }

    [Fact]
    public void TensorMappedToShardThatLacksIt()
    {
        using var dir = new TempDirectory();
        Shards(dir, ("s1.safetensors", ["a"]), ("s2.safetensors", ["b"]));
        WriteIndex(dir, """{"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors", "c": "s1.safetensors"}}""");
        CheckpointAssert.InputError(() => Checkpoint.Open(dir.Path).Dispose(), Index, "'c'", "does not hold it");
    }

    [Fact]
    public void TensorMappedToTheWrongShard()
    {
        using var dir = new TempDirectory();
        Shards(dir, ("s1.safetensors", ["a"]), ("s2.safetensors", ["b"]));
        WriteIndex(dir, """{"weight_map": {"a": "s2.safetensors", "b": "s2.safetensors", "x": "s1.safetensors"}}""");
        CheckpointAssert.InputError(() => Checkpoint.Open(dir.Path).Dispose(), Index, "'a'", "(it is in 's1.safetensors')");
    }

    [Fact]
    public void TensorInTwoShards()
    {
        using var dir = new TempDirectory();
        Shards(dir, ("s1.safetensors", ["a", "b"]), ("s2.safetensors", ["b"]));
        WriteIndex(dir, """{"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}}""");
        CheckpointAssert.InputError(() => Checkpoint.Open(dir.Path).Dispose(), Index, "'b'", "two shards");
    }

    [Fact]
    public void ShardTensorNotListed()
    {
        using var dir = new TempDirectory();
        Shards(dir, ("s1.safetensors", ["a", "stray"]), ("s2.safetensors", ["b"]));
        WriteIndex(dir, """{"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}}""");
        CheckpointAssert.InputError(() => Checkpoint.Open(dir.Path).Dispose(), Index, "'stray'", "does not list");
    }

    [Theory]
    [InlineData("{\"weight_map\": ", "not valid JSON")]
    [InlineData("[]", "not a JSON object")]
    [InlineData("{\"metadata\": {}}", "no \"weight_map\"")]
    [InlineData("{\"weight_map\": []}", "\"weight_map\" is not a JSON object")]
    [InlineData("{\"weight_map\": {\"a\": 1}}", "not a shard file name")]
    [InlineData("{\"weight_map\": {\"a\": \"s1.safetensors\", \"a\": \"s1.safetensors\"}}", "lists tensor 'a' twice")]
    [InlineData("{\"weight_map\": {}, \"weight_map\": {}}", "duplicate key 'weight_map'")]
    [InlineData("{\"metadata\": 3, \"weight_map\": {}}", "\"metadata\" is not a JSON object")]
    [InlineData("{\"weight_map\": {\"a\": \"../s1.safetensors\"}}", "not a file name inside")]
    [InlineData("{\"weight_map\": {\"a\": \"/etc/passwd\"}}", "not a file name inside")]
    public void MalformedIndex(string json, string fragment)
    {
        using var dir = new TempDirectory();
        Shards(dir, ("s1.safetensors", ["a"]));
        WriteIndex(dir, json);
        CheckpointAssert.InputError(() => Checkpoint.Open(dir.File(Index)).Dispose(), Index, fragment);
    }

    [Fact]
    public void CorruptShard_NamesTheShard()
    {
        using var dir = new TempDirectory();
        Shards(dir, ("s1.safetensors", ["a"]));
        File.WriteAllBytes(dir.File("s2.safetensors"), [1, 2, 3]);
        WriteIndex(dir, """{"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}}""");
        CheckpointAssert.InputError(() => Checkpoint.Open(dir.Path).Dispose(), "s2.safetensors", "shorter than");
    }

    [Fact]
    public void EmptyWeightMap_IsAnEmptyCheckpoint()
    {
        using var dir = new TempDirectory();
        WriteIndex(dir, """{"metadata": {"k": "v"}, "weight_map": {}}""");
        using var ckpt = Checkpoint.Open(dir.Path);
        Assert.Empty(ckpt.Entries);
        Assert.Empty(ckpt.Files);
        Assert.Empty(ckpt.ReadAll());
        Assert.Equal("v", ckpt.Metadata["k"]);
    }
}
