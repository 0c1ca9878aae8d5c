namespace ZipIt.Tests;

/// <summary>
/// The test classes that must not run beside others: xunit runs every other class in parallel,
/// then these one after another. A class belongs here when it touches state the whole process
/// shares:
/// <list type="bullet">
/// <item>libtorch's global random generator (<c>torch.manual_seed</c>, and model constructors'
/// default initialisation): <c>init</c>, <c>train</c> and tests that seed before creating a model
/// expect the weights of that seed, which a model created on another thread would change;</item>
/// <item>TorchSharp's default device, which <c>MemoryEstimate.StateBytes</c> sets to <c>meta</c>
/// while it builds a model: a tensor created on another thread meanwhile has no data;</item>
/// <item><c>TorchRuntime</c>'s libtorch request (<c>--libtorch</c>, <c>ZIPIT_LIBTORCH</c>,
/// <c>--device cuda</c>): a command run beside one that asks for another folder fails;</item>
/// <item>environment variables (<c>ZIPIT_DATA</c>, <c>ZIPIT_CACHE</c>), the current directory, signals
/// sent to the process;</item>
/// <item>wall-clock limits (the fuzzing's hang detection) and child <c>dotnet</c> builds and packs,
/// which want the machine's cores to themselves.</item>
/// </list>
/// Every integration-tier class (<see cref="Infrastructure.Tier.Integration"/>) is here: they run the
/// CLI end to end (init, train, demo) and build or pack projects. A fast-tier class is here only with
/// a one-line reason beside its attribute.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "serial: process-wide state";
}
