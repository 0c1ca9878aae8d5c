using System.Diagnostics;
using System.Text.Json;
using ZipIt.Engine.Core;
using ZipIt.Engine.Merge;
using ZipIt.Tests.Cli;

namespace ZipIt.Tests.Engine;

/// <summary>
/// Merge recipes as users write them (docs/recipes.md): YAML or JSON, snake_case keys (earlier
/// camelCase ones too), numbers where numbers are natural, paths relative to the recipe's folder;
/// and every way a recipe can be wrong is one usage error naming the file, the place and the key.
/// </summary>
public sealed class MergeRecipeTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Write(string name, string text)
    {
        var path = _dir.File(name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    private const string Yaml = """
        # a merge of two task models
        models:
          - a.safetensors
          - models/b.safetensors
        data: calibration.safetensors
        images: 1000
        batch_size: 50
        reset_bn: false
        matcher: zipit
        alpha: 0.5
        beta: 0.25
        settings:
          merge-eps: 1e-5
          no-repeat: true
          strict-beta: false
        tap_sets: [blocks]
        stop: 7
        seed: 3
        squared_running_var: true
        arch: vit_pico_patch4_32
        arch_settings: {heads: 3}
        output: out/merged.safetensors
        dtype: f16
        card: false
        evaluate:
          data: test.safetensors
          tasks: [a=0-4, b=5-9]
          head: clip
          class_embeddings: embeddings.safetensors
        """;

    private const string Json = """
        {
          "models": ["a.safetensors", "models/b.safetensors"],
          "data": "calibration.safetensors", "images": 1000, "batch_size": 50, "reset_bn": false,
          "matcher": "zipit", "alpha": 0.5, "beta": 0.25,
          "settings": { "merge-eps": 1e-5, "no-repeat": true, "strict-beta": "false" },
          "tap_sets": ["blocks"], "stop": 7, "seed": 3, "squared_running_var": true,
          "arch": "vit_pico_patch4_32", "arch_settings": { "heads": 3 },
          "output": "out/merged.safetensors", "dtype": "f16", "card": false,
          "evaluate": { "data": "test.safetensors", "tasks": ["a=0-4", "b=5-9"], "head": "clip", "class_embeddings": "embeddings.safetensors" }
        }
        """;

    /// <summary>The camelCase keys of recipes written before snake_case, and <c>eval</c>.</summary>
    private const string CamelCase = """
        {
          "models": ["a.safetensors", "models/b.safetensors"],
          "data": "calibration.safetensors", "images": 1000, "batchSize": 50, "resetBn": false,
          "matcher": "zipit", "alpha": 0.5, "beta": 0.25,
          "settings": { "merge-eps": "1E-05", "no-repeat": "true", "strict-beta": "false" },
          "tapSets": ["blocks"], "stop": "7", "seed": 3, "squaredRunningVar": true,
          "arch": "vit_pico_patch4_32", "archSettings": { "heads": "3" },
          "output": "out/merged.safetensors", "dtype": "f16", "card": false,
          "eval": { "data": "test.safetensors", "tasks": ["a=0-4", "b=5-9"], "head": "clip", "classEmbeddings": "embeddings.safetensors" }
        }
        """;

    private void AssertTheRecipe(MergeRecipe r)
    {
        Assert.Equal([_dir.File("a.safetensors"), _dir.File("models/b.safetensors")], r.Models);
        Assert.Equal(_dir.File("calibration.safetensors"), r.Data);
        Assert.Equal(1000, r.Images);
        Assert.Equal(50, r.BatchSize);
        Assert.False(r.ResetBn);
        Assert.Equal("zipit", r.Matcher);
        Assert.Equal(0.5, r.Alpha);
        Assert.Equal(0.25, r.Beta);
        Assert.Equal(new Dictionary<string, string> { ["merge-eps"] = "1E-05", ["no-repeat"] = "true", ["strict-beta"] = "false" }, r.Settings);
        Assert.Equal(["blocks"], r.TapSets);
        Assert.Equal("7", r.Stop);
        Assert.Equal(3, r.Seed);
        Assert.True(r.SquaredRunningVar);
        Assert.Equal("vit_pico_patch4_32", r.Arch);
        Assert.Equal(new Dictionary<string, string> { ["heads"] = "3" }, r.ArchSettings);
        Assert.Equal(_dir.File("out/merged.safetensors"), r.Output);
        Assert.Equal("f16", r.DType);
        Assert.False(r.Card);
        Assert.NotNull(r.Evaluate);
        Assert.Equal(_dir.File("test.safetensors"), r.Evaluate.Data);
        Assert.Equal(["a=0-4", "b=5-9"], r.Evaluate.Tasks);
        Assert.Equal("clip", r.Evaluate.Head);
        Assert.Equal(_dir.File("embeddings.safetensors"), r.Evaluate.ClassEmbeddings);
    }

    [Theory]
    [InlineData("recipe.yaml", Yaml)]
    [InlineData("recipe.yml", Yaml)]
    [InlineData("recipe.json", Json)]
    [InlineData("old.json", CamelCase)]
    [InlineData("recipe.txt", Yaml)]   // no known extension: the content says YAML
    [InlineData("recipe", Json)]       // ... or JSON
    public void Yaml_json_and_earlier_camel_case_recipes_read_the_same(string name, string text) =>
        AssertTheRecipe(MergeRecipe.Load(Write(name, text)));

    [Fact]
    public void Stop_is_a_number_or_a_stage_name_and_tasks_may_be_a_mapping()
    {
        var named = MergeRecipe.Load(Write("named.yaml", "stop: layer3\nevaluate:\n  tasks: {a: 0-4, b: 5}\n"));
        Assert.Equal("layer3", named.Stop);
        Assert.Equal(["a=0-4", "b=5"], named.Evaluate!.Tasks);
        Assert.Equal("13", MergeRecipe.Load(Write("quoted.yaml", "stop: \"13\"\n")).Stop);
        Assert.Equal(1000, MergeRecipe.Load(Write("e.yaml", "images: 1e3\n")).Images);
        // null, ~ and an empty value are a key not given.
        var empty = MergeRecipe.Load(Write("nulls.yaml", "data:\nstop: ~\nevaluate: null\n"));
        Assert.Null(empty.Data);
        Assert.Null(empty.Stop);
        Assert.Null(empty.Evaluate);
    }

    [Fact]
    public void Relative_paths_are_the_recipe_folders_and_a_data_set_spec_is_kept_as_written()
    {
        Directory.CreateDirectory(_dir.File("images"));
        var path = Write("conf/r.yaml", "models: [../a.safetensors, b.safetensors]\ndata: ../images\noutput: m.safetensors\nevaluate: {data: 'mnist:test', tasks: [a=0-9]}\n");
        var r = MergeRecipe.Load(path);
        Assert.Equal([_dir.File("a.safetensors"), _dir.File("conf/b.safetensors")], r.Models);
        Assert.Equal(_dir.File("images"), r.Data);
        Assert.Equal(_dir.File("conf/m.safetensors"), r.Output);
        Assert.Equal("mnist:test", r.Evaluate!.Data);
        Assert.NotEqual(Environment.CurrentDirectory, _dir.File("conf"));
    }

    [Fact]
    public void The_written_recipe_is_snake_case_with_paths_relative_to_the_output_and_reads_back_the_same()
    {
        Directory.CreateDirectory(_dir.File("images"));
        var recipe = new MergeRecipe
        {
            Models = [_dir.File("a.safetensors"), _dir.File("models/b.safetensors")],
            Data = _dir.File("images"),
            Images = 1000, Alpha = 0.5, Stop = "7",
            Settings = new(StringComparer.OrdinalIgnoreCase) { ["merge-eps"] = "0" },
            ArchSettings = new(StringComparer.OrdinalIgnoreCase) { ["heads"] = "3" },
            Output = _dir.File("out/merged.safetensors"),
            Evaluate = new() { Data = "fashion-mnist:test:0-9", Tasks = ["a=0-4"], ClassEmbeddings = _dir.File("e.safetensors") },
        }.WithDefaults();
        var json = recipe.Portable(recipe.Output!).ToJson();
        var root = JsonDocument.Parse(json).RootElement;
        Assert.Equal(["../a.safetensors", "../models/b.safetensors"], root.GetProperty("models").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("../images", root.GetProperty("data").GetString());
        Assert.Equal("merged.safetensors", root.GetProperty("output").GetString());
        Assert.Equal(7, root.GetProperty("stop").GetInt32());
        Assert.Equal(100, root.GetProperty("batch_size").GetInt32());
        Assert.True(root.GetProperty("reset_bn").GetBoolean());
        Assert.Equal("3", root.GetProperty("arch_settings").GetProperty("heads").GetString());
        Assert.Equal("fashion-mnist:test:0-9", root.GetProperty("evaluate").GetProperty("data").GetString());
        Assert.Equal("../e.safetensors", root.GetProperty("evaluate").GetProperty("class_embeddings").GetString());
        Assert.DoesNotContain("batchSize", json);
        Assert.DoesNotContain(_dir.Path, json);

        Directory.CreateDirectory(_dir.File("out"));
        var back = MergeRecipe.Load(Write("out/merged.safetensors.recipe.json", json));
        Assert.Equal(recipe.ToJson(), back.ToJson());
        Assert.DoesNotContain('\n', recipe.ToJson(indented: false));
    }

    // ---- refusals: one usage error (exit 2) naming the file, line, column and key ----

    public static TheoryData<string, string, string> Refusals() => new()
    {
        // unknown keys: named, with the valid ones listed and the likely one suggested
        { "r.yaml", "models: [a, b]\nbatchSize: 10\nbatch-size: 10\n", "r.yaml:3:1: unknown key 'batch-size' (did you mean 'batch_size'?); the keys are models, arch, arch_settings, data, images, preprocess, batch_size, reset_bn," },
        { "r.yaml", "modles: [a, b]\n", "r.yaml:1:1: unknown key 'modles' (did you mean 'models'?); the keys are models, arch," },
        { "r.json", "{ \"set\": { \"alpha\": 1 } }", "r.json:1:3: unknown key 'set' (did you mean 'settings'?)" },
        { "r.yaml", "evaluate:\n  tasks: [a=0-4]\n  date: t.safetensors\n", "r.yaml:3:3: unknown key 'evaluate.date' (did you mean 'evaluate.data'?); the keys of evaluate are data, tasks, head, class_embeddings" },
        { "r.yaml", "tasks: [a=0-4]\n", "r.yaml:1:1: unknown key 'tasks' (did you mean 'evaluate.tasks'?)" },
        { "r.yaml", "batch_size: 10\nbatchSize: 20\n", "r.yaml:2:1: 'batchSize' is given twice (also as 'batch_size')" },
        { "r.yaml", "settings: {alpha: 1, Alpha: 2}\n", "r.yaml:1:22: 'settings.Alpha' is given twice" },
        // wrong types: the key and what it must be
        { "r.yaml", "batch_size: ten\n", "r.yaml:1:13: 'batch_size' must be a whole number, got text 'ten'" },
        { "r.yaml", "batch_size: 2.5\n", "'batch_size' must be a whole number, got the number 2.5" },
        { "r.yaml", "batch_size: 99999999999\n", "'batch_size' must be a whole number from -2147483648 to 2147483647, got the number 99999999999" },
        { "r.json", "{ \"images\": \"1000\" }", "r.json:1:13: 'images' must be a whole number, got text '1000'" },
        { "r.yaml", "reset_bn: yes\n", "'reset_bn' must be true or false, got text 'yes'" },
        { "r.yaml", "alpha: half\n", "'alpha' must be a number, got text 'half'" },
        { "r.yaml", "alpha: .nan\n", "'alpha' must be a finite number, got the number .nan" },
        { "r.yaml", "stop: 7.5\n", "'stop' must be a stop point (a whole number such as 13, or a stage name such as layer2), got the number 7.5" },
        { "r.json", "{ \"models\": \"a.safetensors\" }", "r.json:1:13: 'models' must be a list of text, got text 'a.safetensors'" },
        { "r.yaml", "models: [a.safetensors, 7]\n", "r.yaml:1:25: 'models[1]' must be text, got the number 7 (quote it: \"7\")" },
        { "r.yaml", "output: 2024\n", "'output' must be text, got the number 2024 (quote it: \"2024\")" },
        { "r.yaml", "settings: {merge-eps: [0]}\n", "'settings.merge-eps' must be text, a number or true/false, got a list" },
        { "r.yaml", "settings: [merge-eps=0]\n", "'settings' must be a mapping of setting: value, got a list" },
        { "r.yaml", "evaluate: test.safetensors\n", "'evaluate' must be a mapping of keys (data, tasks, head, class_embeddings), got text 'test.safetensors'" },
        { "r.yaml", "- models\n", "r.yaml:1:1: a recipe is a mapping of keys (models, arch," },
        // malformed files: where
        { "r.yaml", "models: [a, b]\nstop: 7: 8\n", "r.yaml:2:8: not valid YAML: While scanning a plain scalar value, found invalid mapping." },
        { "r.yaml", "models: [a.safetensors, b.safetensors\nbatch_size: 10\n", "r.yaml:1:23: not valid YAML after this point" },
        { "r.json", "{\n  \"models\": [\"a\", \"b\"],\n  \"stop\": 7,,\n}", "r.json:3:13: not valid JSON: " },
        { "r.json", "models: [a, b]\n", "r.json:1:1: not valid JSON: 'm' is an invalid start of a value" },
        { "r.json", "{ \"models\": [\"a\"] } x", "r.json:1:21: not valid JSON: " },
        { "r.yaml", "a: 1\n---\nb: 2\n", "r.yaml:2:1: a second YAML document ('---')" },
        { "r.yaml", "models: *others\n", "r.yaml:1:9: alias *others names no anchor (&others) before it" },
        { "r.yaml", "models: !!python/object:os.system [ls]\n", "the tag tag:yaml.org,2002:python/object:os.system is not supported in a recipe" },
        { "r.yaml", "images: !!int many\n", "'many' is not a valid int" },
        { "r.yaml", "[a, b]: c\n", "r.yaml:1:1: a key must be text, not a list" },
        { "r.yaml", "", "r.yaml: the recipe is empty" },
        { "r.json", "null", "r.json: the recipe is empty" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void A_wrong_recipe_is_one_usage_error_naming_the_place(string name, string text, string message)
    {
        var path = Write(name, text);
        var e = Assert.Throws<ZipItException>(() => MergeRecipe.Load(path));
        Assert.Equal(ExitCode.Usage, e.Code);
        Assert.StartsWith(path, e.Message);
        Assert.Contains(message, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Merge_says_it_in_one_line_with_exit_2_and_a_missing_recipe_is_exit_3()
    {
        var path = Write("r.yaml", "models: [a.safetensors, b.safetensors]\nbatch_size: ten\n");
        var result = Tool.Run("merge", path);
        Assert.Equal(2, result.ExitCode);
        ExitCodeTests.AssertOneErrorLine(result, "r.yaml:2:13: 'batch_size' must be a whole number, got text 'ten'");

        var missing = Tool.Run("merge", _dir.File("none.yaml"));
        Assert.Equal(3, missing.ExitCode);
        ExitCodeTests.AssertOneErrorLine(missing, "none.yaml: recipe file not found");
    }

    /// <summary>A billion laughs: nine aliases of nine aliases of ... nine values, 9^10 once expanded.</summary>
    private static string Laughs(int levels)
    {
        var s = new System.Text.StringBuilder("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (var i = 1; i <= levels; i++)
            s.Append($"l{i}: &l{i} [{string.Join(", ", Enumerable.Repeat($"*l{i - 1}", 9))}]\n");
        return s.ToString();
    }

    public static TheoryData<string, string, string> Bombs() => new()
    {
        { "laughs.yaml", Laughs(9), "more than 10000 values (aliases expanding without end?)" },
        { "deep.yaml", string.Concat(Enumerable.Range(0, 40).Select(i => new string(' ', 2 * i) + "a:\n")), "nested deeper than 16 levels" },
        { "deep-flow.yaml", new string('[', 100_000) + new string(']', 100_000), "nested deeper than 16 levels" },
        { "deep.json", new string('[', 100_000) + new string(']', 100_000), "nested deeper than 16 levels" },
        { "wide.json", "{\"settings\": {" + string.Join(",", Enumerable.Range(0, 20_000).Select(i => $"\"s{i}\": {i}")) + "}}", "more than 10000 values" },
        { "big.yaml", "# " + new string('x', 2 << 20) + "\n", "over 1 MiB; a recipe is a few lines" },
    };

    [Theory]
    [MemberData(nameof(Bombs))]
    public void Bombs_and_deep_or_huge_documents_are_refused_in_one_line_and_at_once(string name, string text, string message)
    {
        var path = Write(name, text);
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<ZipItException>(() => MergeRecipe.Load(path));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Equal(ExitCode.Usage, e.Code);
        Assert.Contains(message, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
