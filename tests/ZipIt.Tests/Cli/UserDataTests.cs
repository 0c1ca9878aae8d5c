using System.Text.Json;
using SkiaSharp;
using TorchSharp;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Evaluate;
using static ZipIt.Tests.Data.DataFiles;

namespace ZipIt.Tests.Cli;

/// <summary>A user's own images and models: image folders in, heads read from the checkpoints, model folders out.</summary>
[Collection(SerialCollection.Name)]
public sealed class UserDataTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private static string Pair(string name) => Path.Combine(Repository.Root, "samples", "demo-pair", name);

    public void Dispose() => _dir.Dispose();

    private void WriteFolder(string root, int perClass, int classes)
    {
        for (var c = 0; c < classes; c++)
            for (var i = 0; i < perClass; i++)
                WriteImage(_dir.File($"{root}/class{c}/{i}.png"), 28, 28, (x, y) => new SKColor((byte)(x * 9), (byte)(y * 9), (byte)(40 * c + i)));
    }

    [Fact]
    public void An_image_folder_exports_to_the_tensors_the_models_would_read()
    {
        WriteFolder("imgs", 3, 2);
        var r = Tool.Run("data", "export", _dir.File("imgs"), "--preprocess", "size=32", "mean=0.5", "std=0.25", "--images", "4", "-o", _dir.File("x.safetensors"));
        Assert.True(r.ExitCode == 0, r.ToString());
        using var file = Checkpoint.Open(_dir.File("x.safetensors"));
        using var images = file.Read("images");
        using var labels = file.Read("labels");
        Assert.Equal([4L, 3, 32, 32], images.shape);
        Assert.Equal([0L, 1, 0, 1], Longs(labels));
        // 28 → 32 is padded with black: (0 - 0.5) / 0.25 at the corner.
        Assert.Equal(-2f, images[0, 0, 0, 0].item<float>(), 5);
        Assert.Contains("\"size\":32", file.Metadata["zipit.preprocess"]);
    }

    [Fact]
    public void A_folder_without_any_preprocessing_to_go_by_is_refused_before_writing()
    {
        WriteFolder("imgs", 1, 1);
        var r = Tool.Run("data", "export", _dir.File("imgs"), "-o", _dir.File("x.safetensors"));
        Assert.Equal(3, r.ExitCode);
        Assert.Contains("images need the models' preprocessing, and no model is given to take it from; pass --preprocess", r.Error);
        Assert.False(File.Exists(_dir.File("x.safetensors")));
    }

    [Fact]
    public void Class_embeddings_are_regenerated_from_the_class_names_the_models_record()
    {
        var r = Tool.Run("data", "embeddings", Pair("a.safetensors"), Pair("b.safetensors"), "-o", _dir.File("e.safetensors"));
        Assert.True(r.ExitCode == 0, r.ToString());
        using var file = Checkpoint.Open(_dir.File("e.safetensors"));
        using var rows = file.Read("embeddings");
        Assert.Equal([10L, 128], rows.shape);
        using var expected = ClassNameEmbeddings.For(["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"], 128);
        Assert.True(Same(expected, rows));
    }

    [Fact]
    [Trait("Category", "Integration")]
    public void A_clip_head_is_read_as_one_by_default_and_a_contrary_head_is_refused()
    {
        // The demo pair on images of their preprocessing's shape: their clip heads are read against their class-name vectors.
        using (var images = torch.randn([6, 3, 32, 32], generator: new torch.Generator(1)))
        using (var labels = torch.tensor(new long[] { 0, 1, 2, 5, 6, 7 }))
            CheckpointWriter.WriteFile(_dir.File("t.safetensors"), [new("images", images), new("labels", labels)]);
        // Alone, the first model names only its own classes: the other task's vectors cannot be made.
        var alone = Tool.Run("evaluate", Pair("a.safetensors"), "--data", _dir.File("t.safetensors"), "--task", "a=0-4", "--task", "b=5-9");
        Assert.Equal(2, alone.ExitCode);
        Assert.Contains("class 5 of the tasks has no name in any model's zipit.class_names", alone.Error);
        var r = Tool.Run("evaluate", Pair("a.safetensors"), Pair("b.safetensors"), "--data", _dir.File("t.safetensors"), "--task", "a=0-4", "--task", "b=5-9", "--json");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("clip", JsonDocument.Parse(r.Out).RootElement.GetProperty("head").GetString());
        var logits = Tool.Run("evaluate", Pair("a.safetensors"), "--data", _dir.File("t.safetensors"), "--task", "a=0-4", "--task", "b=5-9", "--head", "logits");
        Assert.Equal(2, logits.ExitCode);
        Assert.Contains("--head logits: a.safetensors has a clip head (zipit.head); its outputs are embeddings, not class scores, and would read as chance", logits.Error);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public void A_merge_into_a_name_without_extension_writes_a_model_folder_that_loads_back()
    {
        WriteFolder("calibration", 2, 2);
        var output = _dir.File("merged");
        var r = Tool.Run("merge", "--models", Pair("a.safetensors"), Pair("b.safetensors"), "--data", _dir.File("calibration"), "-o", output);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("merged a.safetensors + b.safetensors", r.Out);
        Assert.Contains($"wrote {output} (model.safetensors, config.json, README.md, the recipe)", r.Out);
        Assert.Equal(["README.md", "config.json", "model.safetensors", "model.safetensors.recipe.json"], Directory.GetFiles(output).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "config.json")));
        Assert.Equal("resnet20", config.RootElement.GetProperty("architecture").GetString());
        Assert.Equal([3, 32, 32], config.RootElement.GetProperty("pretrained_cfg").GetProperty("input_size").EnumerateArray().Select(e => e.GetInt32()));
        var zipit = config.RootElement.GetProperty("zipit");
        Assert.Equal("clip", zipit.GetProperty("head").GetString());
        Assert.Equal(10, zipit.GetProperty("class_names").GetArrayLength());
        Assert.Contains("base_model:\n- a.safetensors\n- b.safetensors\n", File.ReadAllText(Path.Combine(output, "README.md")));
        var inspect = Tool.Run("inspect", output);
        Assert.True(inspect.ExitCode == 0, inspect.ToString());
    }

    [Fact]
    public void A_merge_to_a_pytorch_name_is_refused_with_the_convert_command_to_use()
    {
        var r = Tool.Run("merge", "--models", Pair("a.safetensors"), Pair("b.safetensors"), "--matcher", "average", "-o", _dir.File("m.pt"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("merge writes a .safetensors file or a model folder (a name without extension); for a torch.save file, convert the result: dotnet zipit convert MERGED -o m.pt", r.Error);
        Assert.Empty(Directory.GetFileSystemEntries(_dir.Path));
    }

    [Fact]
    public void Predict_runs_on_an_image_folder_as_on_the_tensors_it_exports()
    {
        WriteFolder("imgs", 2, 3);
        var exported = Tool.Run("data", "export", _dir.File("imgs"), "--for", Pair("a.safetensors"), "-o", _dir.File("x.safetensors"));
        Assert.True(exported.ExitCode == 0, exported.ToString());
        var fromFolder = Tool.Run("predict", Pair("a.safetensors"), "-i", _dir.File("imgs"), "-o", _dir.File("p1.safetensors"));
        Assert.True(fromFolder.ExitCode == 0, fromFolder.ToString());
        Assert.Contains("output [6,128], labels [6] from 6 inputs", fromFolder.Out);
        var fromFile = Tool.Run("predict", Pair("a.safetensors"), "-i", _dir.File("x.safetensors"), "-o", _dir.File("p2.safetensors"));
        Assert.True(fromFile.ExitCode == 0, fromFile.ToString());
        using var p1 = Checkpoint.Open(_dir.File("p1.safetensors"));
        using var p2 = Checkpoint.Open(_dir.File("p2.safetensors"));
        using var x = Checkpoint.Open(_dir.File("x.safetensors"));
        using var o1 = p1.Read("output");
        using var o2 = p2.Read("output");
        Assert.Equal(Floats(o2), Floats(o1));
        using var labels = p1.Read("labels");
        using var exportedLabels = x.Read("labels");
        Assert.Equal(Longs(exportedLabels), Longs(labels));
        Assert.False(p2.Contains("labels"));
    }

    [Fact]
    public void Predict_refuses_inputs_that_are_not_finite()
    {
        using (var images = torch.zeros(2, 1, 32, 32))
        {
            images[1, 0, 3, 3] = float.NaN;
            CheckpointWriter.WriteFile(_dir.File("nan.safetensors"), [new("input", images)], new Dictionary<string, string>());
        }
        var r = Tool.Run("predict", Pair("a.safetensors"), "-i", _dir.File("nan.safetensors"), "-o", _dir.File("p.safetensors"));
        Assert.Equal(3, r.ExitCode);
        Assert.Contains("nan.safetensors: tensor 'input' holds NaN or infinite values", r.Error);
        Assert.False(File.Exists(_dir.File("p.safetensors")));
    }

    [Fact]
    public void Reproduce_refuses_given_models_with_a_head_it_cannot_score()
    {
        var logits = _dir.File("a-logits.safetensors");
        using (var a = Checkpoint.Open(Pair("a.safetensors")))
        {
            var tensors = a.Entries.Select(e => new KeyValuePair<string, torch.Tensor>(e.Name, a.Read(e.Name))).ToList();
            var metadata = new Dictionary<string, string>(a.Metadata) { ["zipit.head"] = "logits" };
            CheckpointWriter.WriteFile(logits, tensors, metadata);
            foreach (var t in tensors) t.Value.Dispose();
        }
        var r = Tool.Run("reproduce", "fmnist-5+5", "--models", logits, Pair("b.safetensors"), "-o", _dir.File("report"));
        Assert.Equal(3, r.ExitCode);
        Assert.Contains("a-logits.safetensors has a logits head (zipit.head); reproduce scores class-embedding (clip) heads", r.Error);
        Assert.False(Directory.Exists(_dir.File("report")));
    }
}
