using ZipIt.Engine.Core;
namespace ZipIt.Engine.Reproduce;

/// <summary>
/// An experiment of the paper's kind: one model per task, every model of a pair trained from its
/// own seed, merged, and evaluated on the union of the tasks' classes.
/// </summary>
internal sealed record ReproduceSetting(string Name, string Description, IReadOnlyList<string> Tasks)
{
    public static IReadOnlyList<ReproduceSetting> All { get; } =
    [
        new("fmnist-5+5", "Fashion-MNIST split into classes 0-4 and 5-9 (the paper's CIFAR-10 5+5 protocol on Fashion-MNIST)",
            ["fashion-mnist:0-4", "fashion-mnist:5-9"]),
        new("fmnist+mnist", "one model on Fashion-MNIST, one on MNIST digits: the paper's \"different datasets\" setting",
            ["fashion-mnist:all", "mnist:all"]),
    ];

    public static ReproduceSetting Find(string name) =>
        All.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw ZipItException.Usage($"unknown setting '{name}' (settings: {string.Join(", ", All.Select(s => s.Name))})");
}
