using TorchSharp;
using ZipIt.Engine.Core;
using ZipIt.Engine.Refit;
using static TorchSharp.torch;

namespace ZipIt.Tests.Refit;

/// <summary>
/// The closed-form solve against float64 least squares done another way (torch.linalg.lstsq on
/// the rows themselves, the ridge as extra rows), and what it does with Grams that carry no
/// information in some directions: constant or dead channels, fewer rows than features.
/// </summary>
public sealed class RidgeSolveTests
{
    [Theory]
    [InlineData(true, 0.0)]
    [InlineData(true, 0.05)]
    [InlineData(false, 0.05)]
    public void The_solve_equals_a_least_squares_reference(bool bias, double ridge)
    {
        var g = new Generator(17);
        const int rows = 60, inputs = 7, outputs = 3;
        var x = randn([rows, inputs], ScalarType.Float64, generator: g) * 3 + 1;
        var rowsWithBias = bias ? cat([x, ones(rows, 1, ScalarType.Float64)], 1) : x;
        var y = randn([rows, outputs], ScalarType.Float64, generator: g);
        var prior = randn([rowsWithBias.shape[1], outputs], ScalarType.Float64, generator: g);
        using var moments = new LayerMoments(rowsWithBias.shape[1], outputs);
        // Two chunks: the sums must not depend on how the rows arrive.
        moments.Add(rowsWithBias.narrow(0, 0, 25), y.narrow(0, 0, 25));
        moments.Add(rowsWithBias.narrow(0, 25, rows - 25), y.narrow(0, 25, rows - 25));

        var solution = RidgeSolve.Solve(moments, prior, inputs, ridge, "layer");

        // The ridge term λ'‖W − W*‖² is √λ'·(W − W*) as rows: [X; √λ'·I_w] Θ ≈ [Y; √λ'·W*_w] (no row for the bias).
        var lambda = ridge * x.square().sum().item<double>() / inputs;
        Assert.Equal(lambda, solution.Ridge, 12);
        var penalty = eye(inputs, rowsWithBias.shape[1], ScalarType.Float64) * Math.Sqrt(lambda);
        var a = cat([rowsWithBias, penalty], 0);
        var b = cat([y, torch.mm(penalty, prior)], 0);
        var reference = linalg.lstsq(a, b).Solution;
        var difference = (solution.Weights - reference).abs().max().item<double>();
        Assert.True(difference < 1e-10, $"max |Θ − lstsq| = {difference:E3}");

        // The error from the moments is the error of the rows.
        var direct = (y - torch.mm(rowsWithBias, solution.Weights)).square().sum().item<double>();
        Assert.Equal(direct, moments.SquaredError(solution.Weights), 1e-9 * Math.Max(1, direct));
    }

    [Fact]
    public void The_moments_are_the_sums_of_the_rows_whatever_the_batches()
    {
        // Rows in two batches; the Gram, symmetrised when read, must be exactly symmetric.
        var g = new Generator(5);
        var x = randn([90, 600], ScalarType.Float64, generator: g);
        var y = randn([90, 4], ScalarType.Float64, generator: g);
        using var moments = new LayerMoments(600, 4);
        moments.Add(x.narrow(0, 0, 50), y.narrow(0, 0, 50));
        moments.Add(x.narrow(0, 50, 40), y.narrow(0, 50, 40));
        Assert.Equal(90, moments.Samples);
        Assert.True(moments.Gram.allclose(torch.mm(x.t(), x), rtol: 1e-12, atol: 1e-10), "Σ x xᵀ differs");
        Assert.True(moments.Gram.equal(moments.Gram.t()).all().item<bool>(), "the Gram is not exactly symmetric");
        Assert.True(moments.Cross.allclose(torch.mm(x.t(), y), rtol: 1e-12, atol: 1e-10), "Σ x yᵀ differs");
        Assert.True(moments.Sum.allclose(x.sum([0]), rtol: 1e-12, atol: 1e-10), "Σ x differs");
        Assert.Equal(y.square().sum().item<double>(), moments.TargetSquares, 1e-9);
    }

    [Fact]
    public void Constant_dead_and_duplicated_channels_with_fewer_rows_than_features_are_decided_by_the_ridge()
    {
        var g = new Generator(3);
        const int rows = 5, outputs = 2;
        var informative = randn([rows, 3], ScalarType.Float64, generator: g);
        var constant = full([rows, 1], 2.5, ScalarType.Float64);
        var dead = zeros([rows, 2], ScalarType.Float64);
        var x = cat([informative, constant, dead, informative.narrow(1, 0, 1), randn([rows, 4], ScalarType.Float64, generator: g), ones(rows, 1, ScalarType.Float64)], 1);
        var features = x.shape[1]; // 12 features, 5 rows
        var y = randn([rows, outputs], ScalarType.Float64, generator: g);
        var prior = randn([features, outputs], ScalarType.Float64, generator: g);
        using var moments = new LayerMoments(features, outputs);
        moments.Add(x, y);

        var solution = RidgeSolve.Solve(moments, prior, features - 1, RefitOptions.DefaultRidge, "layer3.2.conv2");

        Assert.True(solution.Weights.isfinite().all().item<bool>(), "the solve gave non-finite weights");
        // No data moves a dead channel's weights: they stay exactly at the zip's.
        Assert.True(solution.Weights.narrow(0, 4, 2).allclose(prior.narrow(0, 4, 2), rtol: 1e-12, atol: 0), "a dead channel's weights moved");
        Assert.True(moments.SquaredError(solution.Weights) <= moments.SquaredError(prior), "the ridge solve fits worse than the zip's weights");

        // Without the ridge the same Gram is refused in one line, saying why and what to do.
        var refusal = Assert.Throws<ZipItException>(() => RidgeSolve.Solve(moments, prior, features - 1, 0, "layer3.2.conv2"));
        Assert.Equal(ExitCode.Input, refusal.Code);
        Assert.DoesNotContain('\n', refusal.Message);
        Assert.Contains("layer3.2.conv2", refusal.Message);
        Assert.Contains("fewer samples than features", refusal.Message);
        Assert.Contains("--refit-ridge", refusal.Message);
    }

    [Fact]
    public void A_rank_deficient_gram_with_enough_rows_is_refused_without_the_ridge_and_solved_with_it()
    {
        var g = new Generator(8);
        var column = randn([40, 1], ScalarType.Float64, generator: g);
        var x = cat([column, column * 2, randn([40, 2], ScalarType.Float64, generator: g)], 1); // two columns proportional
        var y = randn([40, 2], ScalarType.Float64, generator: g);
        using var moments = new LayerMoments(4, 2);
        moments.Add(x, y);
        var prior = zeros(4, 2, ScalarType.Float64);
        var refusal = Assert.Throws<ZipItException>(() => RidgeSolve.Solve(moments, prior, 4, 0, "fc"));
        Assert.Contains("constant or linearly dependent inputs", refusal.Message);
        var solved = RidgeSolve.Solve(moments, prior, 4, 1e-6, "fc");
        Assert.True(solved.Weights.isfinite().all().item<bool>());
    }

    [Fact]
    public void All_zero_inputs_keep_the_zips_weights_and_fit_the_bias_to_the_mean_target()
    {
        var x = cat([zeros(10, 3, ScalarType.Float64), ones(10, 1, ScalarType.Float64)], 1);
        var y = randn([10, 2], ScalarType.Float64, generator: new Generator(2));
        using var moments = new LayerMoments(4, 2);
        moments.Add(x, y);
        var prior = randn([4, 2], ScalarType.Float64, generator: new Generator(4));
        var solution = RidgeSolve.Solve(moments, prior, 3, RefitOptions.DefaultRidge, "fc");
        Assert.True(solution.Weights.narrow(0, 0, 3).allclose(prior.narrow(0, 0, 3), rtol: 0, atol: 1e-12));
        Assert.True(solution.Weights[3].allclose(y.mean([0]), rtol: 0, atol: 1e-12));
    }
}
