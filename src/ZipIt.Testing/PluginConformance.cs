using TorchSharp;
using static TorchSharp.torch;

namespace ZipIt.Testing;

/// <summary>
/// The checks every architecture plugin should pass, for any test framework: each method returns
/// normally when the plugin conforms and throws <see cref="ConformanceException"/> naming what is
/// wrong when it does not.
/// <list type="bullet">
/// <item><see cref="Validate(IArchitecture, ArchitectureConfig)"/>: the merge graph fits the
/// created model and describes every tensor axis (what the host checks on every load);</item>
/// <item><see cref="PermutationSymmetry"/>: permuting every feature space through the graph keeps
/// the outputs, so the graph is not only well-formed but right;</item>
/// <item><see cref="RecognizeRoundTrip"/>: a fresh model's checkpoint is recognised as the
/// configuration it was built from, and <see cref="IArchitecture.Configure"/> reproduces it;</item>
/// <item><see cref="CheckAll"/>: all three.</item>
/// </list>
/// </summary>
public static class PluginConformance
{
    /// <summary>
    /// Creates a model of <paramref name="config"/> and checks <see cref="IArchitecture.Describe"/>'s
    /// graph against its tensors with <see cref="MergeGraph.Validate"/>, and that the model has one
    /// stage per graph stage.
    /// </summary>
    /// <exception cref="ConformanceException">Every problem found, one per line.</exception>
    public static void Validate(IArchitecture architecture, ArchitectureConfig config)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(config);
        var graph = Describe(architecture, config);
        using var model = Create(architecture, config);
        var problems = graph.Validate(ModelSignature.Tensors(model)).ToList();
        if (model.StageCount != graph.Stages.Count)
            problems.Add($"the model has {model.StageCount} stages, its merge graph {graph.Stages.Count}");
        if (problems.Count > 0)
            throw new ConformanceException(
                $"{config}: the merge graph does not fit the model ({problems.Count} problem{(problems.Count == 1 ? "" : "s")}):\n  " + string.Join("\n  ", problems));
    }

    /// <summary>
    /// <see cref="Validate(IArchitecture, ArchitectureConfig)"/> for a registered variant with
    /// <paramref name="settings"/> (none: the variant's defaults).
    /// </summary>
    /// <exception cref="ConformanceException">The variant cannot be configured, or the graph does not fit.</exception>
    public static void Validate(IArchitecture architecture, string variant, IReadOnlyDictionary<string, string>? settings = null) =>
        Validate(architecture, Configure(architecture, variant, settings));

    /// <summary>
    /// The permutation-symmetry proof of a merge graph: builds a model of <paramref name="config"/>
    /// with seeded random weights (<see cref="TestWeights.Randomise"/>), permutes the units of every
    /// feature space at random through the graph alone (<see cref="GraphPermutation"/>: groups move
    /// as blocks, tied spaces share one group order), loads the result into a second model and
    /// compares both models' outputs on <paramref name="input"/> in eval mode. An axis missing from
    /// the graph, in the wrong space, or a wrong group structure changes the output.
    /// </summary>
    /// <param name="architecture">The architecture under test.</param>
    /// <param name="config">The configuration to build.</param>
    /// <param name="input">A batch the model accepts (e.g. images [B, C, H, W]); it is not modified.</param>
    /// <param name="tolerance">The largest absolute output difference accepted (float32 rounding: 1e-4 suits most models).</param>
    /// <param name="seed">Seeds the weights and the permutations.</param>
    /// <returns>The largest absolute difference between the outputs.</returns>
    /// <exception cref="ConformanceException">The outputs differ by more than <paramref name="tolerance"/>, or the graph names tensors the model lacks.</exception>
    public static double PermutationSymmetry(IArchitecture architecture, ArchitectureConfig config, Tensor input, double tolerance = 1e-4, ulong seed = 1)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(input);
        var graph = Describe(architecture, config);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var model = Create(architecture, config);
        TestWeights.Randomise(model, seed);
        model.eval();
        var reference = Run(model, input, config);

        var permuted = GraphPermutation.Apply(model.state_dict(), graph, GraphPermutation.RandomPermutations(graph, seed + 1));
        using var twin = Create(architecture, config);
        twin.load_state_dict(permuted);
        twin.eval();
        var result = Run(twin, input, config);

        if (!reference.shape.SequenceEqual(result.shape))
            throw new ConformanceException($"{config}: the permuted model's output has shape [{string.Join(",", result.shape)}], the original's [{string.Join(",", reference.shape)}]");
        var error = (reference - result).abs().max().ToDouble();
        if (!(error <= tolerance))
            throw new ConformanceException(
                $"{config}: permuting every feature space through the merge graph changed the output by {error:E3} (tolerance {tolerance:E1}): " +
                "a tensor axis is missing from a space or in the wrong one, a tap or group structure is wrong, or the model computes something the graph does not describe");
        return error;
    }

    /// <summary>
    /// The configuration round trip the host relies on: <see cref="IArchitecture.Configure"/> of
    /// <paramref name="config"/>'s variant and settings gives <paramref name="config"/> back, and
    /// <see cref="IArchitecture.Recognize"/> of a freshly created model's state-dict signature (names,
    /// dtypes, shapes; no tensor data) gives it back too.
    /// </summary>
    /// <param name="architecture">The architecture under test.</param>
    /// <param name="config">A configuration, e.g. from <see cref="IArchitecture.Configure"/>.</param>
    /// <param name="metadata">Checkpoint metadata the architecture needs to recognise settings that shapes do not show (none by default).</param>
    /// <exception cref="ConformanceException">Either round trip gives a different configuration, or none.</exception>
    public static void RecognizeRoundTrip(IArchitecture architecture, ArchitectureConfig config, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(config);
        if (config.Architecture != architecture.Name)
            throw new ConformanceException($"{config} names architecture '{config.Architecture}', but the architecture is called '{architecture.Name}'");
        var configured = Configure(architecture, config.Variant, config.Settings);
        if (!configured.Equals(config))
            throw new ConformanceException($"Configure(\"{config.Variant}\", settings of {config}) gives {configured}");

        using var model = Create(architecture, config);
        ArchitectureConfig? recognised;
        try
        {
            recognised = architecture.Recognize(ModelSignature.Of(model, metadata));
        }
        catch (Exception e)
        {
            throw new ConformanceException($"{config}: Recognize threw {e.GetType().Name} for a fresh model: {e.Message}", e);
        }
        if (recognised is null)
            throw new ConformanceException($"{config}: Recognize does not recognise a fresh model of this configuration");
        if (!recognised.Equals(config))
            throw new ConformanceException($"{config}: Recognize gives {recognised} for a fresh model of this configuration");
    }

    /// <summary>
    /// <see cref="Validate(IArchitecture, ArchitectureConfig)"/>, <see cref="RecognizeRoundTrip"/>
    /// and <see cref="PermutationSymmetry"/> for one configuration, in that order (the first
    /// failure is thrown).
    /// </summary>
    /// <param name="architecture">The architecture under test.</param>
    /// <param name="config">The configuration to check.</param>
    /// <param name="input">A batch the model accepts.</param>
    /// <param name="tolerance">The largest absolute output difference <see cref="PermutationSymmetry"/> accepts.</param>
    /// <param name="metadata">Checkpoint metadata for <see cref="RecognizeRoundTrip"/>.</param>
    /// <exception cref="ConformanceException">The first check that fails.</exception>
    public static void CheckAll(IArchitecture architecture, ArchitectureConfig config, Tensor input, double tolerance = 1e-4,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        Validate(architecture, config);
        RecognizeRoundTrip(architecture, config, metadata);
        PermutationSymmetry(architecture, config, input, tolerance);
    }

    private static ArchitectureConfig Configure(IArchitecture architecture, string variant, IReadOnlyDictionary<string, string>? settings)
    {
        try
        {
            return architecture.Configure(variant, settings);
        }
        catch (ArgumentException e)
        {
            throw new ConformanceException($"{architecture.Name}: Configure(\"{variant}\") refuses: {e.Message}", e);
        }
    }

    private static MergeGraph Describe(IArchitecture architecture, ArchitectureConfig config)
    {
        try
        {
            return architecture.Describe(config);
        }
        catch (Exception e) when (e is not ConformanceException)
        {
            throw new ConformanceException($"{config}: Describe threw {e.GetType().Name}: {e.Message}", e);
        }
    }

    private static StagedModel Create(IArchitecture architecture, ArchitectureConfig config)
    {
        try
        {
            return architecture.Create(config);
        }
        catch (Exception e)
        {
            throw new ConformanceException($"{config}: Create threw {e.GetType().Name}: {e.Message}", e);
        }
    }

    private static Tensor Run(StagedModel model, Tensor input, ArchitectureConfig config)
    {
        try
        {
            return model.call(input);
        }
        catch (Exception e)
        {
            throw new ConformanceException($"{config}: the forward pass on an input of shape [{string.Join(",", input.shape)}] threw: {e.Message}", e);
        }
    }
}
