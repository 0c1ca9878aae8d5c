using System.Globalization;
using ZipIt.Engine.Data;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Evaluate;

/// <summary>A task: a name and the (global) class ids it covers, e.g. <c>a=0-4</c> or <c>b=5,6,7,8,9</c>.</summary>
public sealed record EvaluationTask(string Name, IReadOnlyList<long> Classes)
{
    /// <summary>Parses every <c>NAME=CLASSES</c>; classes are ids and ranges separated by commas. Tasks must be disjoint.</summary>
    public static IReadOnlyList<EvaluationTask> Parse(IReadOnlyList<string> specs)
    {
        if (specs.Count == 0) throw ZipItException.Usage("--task: at least one task is needed, e.g. --task a=0-4 --task b=5-9");
        var tasks = new List<EvaluationTask>();
        var owner = new Dictionary<long, string>();
        foreach (var spec in specs)
        {
            var eq = spec.IndexOf('=');
            if (eq <= 0 || eq == spec.Length - 1) throw ZipItException.Usage($"--task {spec}: expected NAME=CLASSES, e.g. a=0-4");
            var name = spec[..eq].Trim();
            var classes = new List<long>();
            foreach (var part in spec[(eq + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!ClassRange.TryParse(part, out var from, out var to))
                    throw ZipItException.Usage($"--task {spec}: '{part}' is not a class id or range such as 0-4");
                for (var c = from; c <= to; c++)
                {
                    if (owner.TryGetValue(c, out var other))
                        throw ZipItException.Usage($"--task {spec}: class {c} is already in task '{other}'; tasks must be disjoint");
                    owner[c] = name;
                    classes.Add(c);
                }
            }
            if (tasks.Any(t => t.Name == name)) throw ZipItException.Usage($"--task {spec}: task '{name}' is given twice");
            tasks.Add(new EvaluationTask(name, classes));
        }
        return tasks;
    }
}
