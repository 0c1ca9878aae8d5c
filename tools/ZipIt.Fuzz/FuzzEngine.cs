using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Core;
using ZipIt.Engine.Merge;

namespace ZipIt.Fuzz;

/// <summary>What one fuzz run found.</summary>
/// <param name="Inputs">Inputs tried.</param>
/// <param name="Parsed">Inputs that parsed.</param>
/// <param name="Rejected">Inputs rejected with a <see cref="ZipItException"/> (the only allowed failure).</param>
/// <param name="Failed">Inputs that threw another exception or ran past the time limit.</param>
/// <param name="Failures">One line per kind of failure (target, exception type and message): its count and the files its first inputs were saved to.</param>
public sealed record FuzzReport(long Inputs, long Parsed, long Rejected, long Failed, IReadOnlyList<string> Failures, TimeSpan Elapsed);

/// <summary>
/// Feeds mutated safetensors files to <see cref="SafetensorsFile.Open(string)"/> and mutated recipes
/// (JSON and YAML) to <c>MergeRecipe.Load</c>: each input must parse or throw <see cref="ZipItException"/>, within a time
/// limit. Inputs go through real files (the parsers read files), in a private folder.
/// </summary>
public sealed class FuzzEngine(int seed, TimeSpan limit, string failures)
{
    /// <summary>Which parser an input is for.</summary>
    public enum Target { Safetensors, Recipe }

    /// <summary>
    /// Runs <paramref name="inputs"/> inputs of <paramref name="targets"/> (both by default, alternating).
    /// Failures are grouped by kind; the first three inputs of each kind are saved; the run stops
    /// early after <paramref name="maxKinds"/> kinds or a hang.
    /// </summary>
    public FuzzReport Run(long inputs, Action<long>? progress = null, int maxKinds = 20, Target[]? targets = null)
    {
        targets ??= [Target.Safetensors, Target.Recipe];
        var random = new Random(seed);
        var mutator = new Mutator(random);
        var seeds = new Dictionary<Target, byte[][]>
        {
            [Target.Safetensors] = SafetensorsSeeds(),
            [Target.Recipe] = RecipeSeeds(),
        };
        // A memory-backed folder where there is one: a million writes and opens should not wear a disk.
        var folder = Directory.Exists("/dev/shm")
            ? Directory.CreateDirectory(Path.Combine("/dev/shm", $"zipit-fuzz-{Environment.ProcessId}-{seed}")).FullName
            : Directory.CreateTempSubdirectory("zipit-fuzz-").FullName;
        var kinds = new Dictionary<string, (long Count, List<string> Saved)>(StringComparer.Ordinal);
        var hung = false;
        long parsed = 0, rejected = 0, failed = 0, done = 0;
        var clock = Stopwatch.StartNew();
        try
        {
            var files = new Dictionary<Target, string>
            {
                [Target.Safetensors] = Path.Combine(folder, "input.safetensors"),
                [Target.Recipe] = Path.Combine(folder, "recipe.json"),
            };
            for (; done < inputs && kinds.Count < maxKinds && !hung; done++)
            {
                var target = targets[(int)(done % targets.Length)];
                var pool = seeds[target];
                var valid = pool[random.Next(pool.Length)];
                // Recipes: every other one is read as YAML, a mutated YAML seed or a JSON one (YAML reads JSON too).
                var yaml = target == Target.Recipe && random.Next(2) == 0;
                var input = target == Target.Safetensors ? mutator.Safetensors(valid)
                    : yaml && random.Next(2) == 0 ? mutator.Yaml(YamlSeeds[random.Next(YamlSeeds.Length)])
                    : mutator.Json(valid);
                var file = yaml ? Path.ChangeExtension(files[target], ".yaml") : files[target];
                File.WriteAllBytes(file, input);
                switch (Try(target, file))
                {
                    case null: parsed++; break;
                    case "": rejected++; break;
                    case var problem:
                        failed++;
                        hung |= problem.StartsWith(HangPrefix, StringComparison.Ordinal);
                        var kind = $"{target}: {problem}";
                        if (!kinds.TryGetValue(kind, out var entry)) entry = (0, []);
                        if (entry.Saved.Count < 3) entry.Saved.Add(Save(target, input, done, problem, Path.GetExtension(file)));
                        kinds[kind] = (entry.Count + 1, entry.Saved);
                        break;
                }
                if (progress is not null && done % 10_000 == 0) progress(done);
            }
        }
        finally
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
        return new FuzzReport(done, parsed, rejected, failed,
            kinds.Select(k => $"{k.Value.Count} × {k.Key} (saved: {string.Join(", ", k.Value.Saved)})").ToList(), clock.Elapsed);
    }

    private const string HangPrefix = "a hang: no answer within";

    /// <summary>Null when the input parsed, "" when it was rejected properly, else what went wrong.</summary>
    private string? Try(Target target, string path)
    {
        var work = Task.Run(() =>
        {
            try
            {
                if (target == Target.Safetensors)
                {
                    using var file = SafetensorsFile.Open(path);
                    _ = file.Entries.Count;
                }
                else
                {
                    _ = MergeRecipe.Load(path);
                }
                return null;
            }
            catch (ZipItException)
            {
                return "";
            }
            catch (Exception e)
            {
                return $"{e.GetType().FullName}: {e.Message}";
            }
        });
        if (!work.Wait(limit)) return $"{HangPrefix} {limit.TotalMilliseconds:0} ms";
        return work.Result;
    }

    private string Save(Target target, byte[] input, long index, string problem, string extension)
    {
        Directory.CreateDirectory(failures);
        var name = Path.Combine(failures, $"{target.ToString().ToLowerInvariant()}-seed{seed}-{index}{extension}");
        File.WriteAllBytes(name, input);
        File.WriteAllText(name + ".txt", problem + "\n");
        return name;
    }

    /// <summary>Valid files: tensors of several dtypes and ranks, with and without metadata, empty ones.</summary>
    internal static byte[][] SafetensorsSeeds() =>
    [
        Safetensors(new() { ["w"] = ("F32", [2, 3]) }, null),
        Safetensors(new() { ["conv1.weight"] = ("F32", [4, 3, 3, 3]), ["bn1.running_mean"] = ("F32", [4]), ["bn1.num_batches_tracked"] = ("I64", []) },
            new() { ["zipit.architecture"] = "resnet", ["zipit.variant"] = "resnet20", ["format"] = "pt" }),
        Safetensors(new() { ["a"] = ("F16", [5]), ["b"] = ("BF16", [1, 1]), ["c"] = ("U8", [7]), ["d"] = ("BOOL", [3]), ["e"] = ("F64", [0, 4]) },
            new() { ["zipit.kind"] = "metrics", ["models"] = "2" }),
        Safetensors(new(), new() { ["only"] = "metadata" }),
    ];

    private static readonly byte[][] YamlSeeds =
    [
        Encoding.UTF8.GetBytes("""
            models:
              - task-a.safetensors
              - task-b.safetensors
            data: calibration.safetensors
            images: 1000
            batch_size: 50
            matcher: zipit
            alpha: 0.5
            settings: {merge-eps: 1e-5, no-repeat: true}
            stop: 13
            arch_settings: {heads: 3}
            output: out/merged.safetensors
            evaluate:
              data: test.safetensors
              tasks: {a: 0-4, b: 5-9}
              head: logits
            """),
        Encoding.UTF8.GetBytes("models: [a.safetensors, b.safetensors]\nmatcher: average\noutput: m.safetensors\nseed: 3\nreset_bn: false\nstop: layer2\n"),
    ];

    internal static byte[][] RecipeSeeds() =>
    [
        Encoding.UTF8.GetBytes("""
            {"models":["task-a.safetensors","task-b.safetensors"],"data":"calibration.safetensors","images":1000,
             "matcher":"zipit","alpha":0.5,"beta":0.5,"settings":{"merge-eps":"1e-5"},"stop":"13","output":"out/merged.safetensors",
             "evaluate":{"data":"test.safetensors","tasks":["a=0-4","b=5-9"],"head":"logits"}}
            """),
        Encoding.UTF8.GetBytes("""{"models":["a.safetensors","b.safetensors"],"matcher":"average","output":"m.safetensors","seed":3,"resetBn":false,"batchSize":50}"""),
        Encoding.UTF8.GetBytes("""{"models":["x"],"evaluate":{"tasks":[],"classEmbeddings":"e.safetensors"}}"""),
    ];

    private static byte[] Safetensors(Dictionary<string, (string DType, long[] Shape)> tensors, Dictionary<string, string>? metadata)
    {
        var json = new StringBuilder("{");
        if (metadata is not null)
            json.Append("\"__metadata__\":{").Append(string.Join(",", metadata.Select(kv => $"\"{kv.Key}\":\"{kv.Value}\""))).Append('}');
        long offset = 0;
        foreach (var (name, (dtype, shape)) in tensors)
        {
            var size = shape.Aggregate(1L, (a, b) => a * b) * dtype switch { "F64" or "I64" => 8, "F32" or "I32" => 4, "F16" or "BF16" => 2, _ => 1 };
            if (json.Length > 1) json.Append(',');
            json.Append($"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{offset},{offset + size}]}}");
            offset += size;
        }
        json.Append('}');
        var header = Encoding.UTF8.GetBytes(json.ToString());
        var padded = (header.Length + 7) / 8 * 8;
        var bytes = new byte[8 + padded + offset];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)padded);
        header.CopyTo(bytes, 8);
        bytes.AsSpan(8 + header.Length, padded - header.Length).Fill((byte)' ');
        for (var i = 8 + padded; i < bytes.Length; i++) bytes[i] = (byte)(i * 31);
        return bytes;
    }
}
