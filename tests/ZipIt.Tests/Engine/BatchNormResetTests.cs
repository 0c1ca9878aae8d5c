using TorchSharp;
using ZipIt.Engine.ResetBn;
using static TorchSharp.torch;

namespace ZipIt.Tests.Engine;

public sealed class BatchNormResetTests
{
    [Fact]
    public void Running_statistics_become_the_mean_of_the_batch_statistics_and_the_module_is_left_in_eval_mode()
    {
        using var bn = nn.BatchNorm2d(3);
        using (torch.no_grad()) { bn.running_mean!.fill_(5); bn.running_var!.fill_(7); }
        var generator = new Generator(11);
        var batches = Enumerable.Range(0, 4).Select(i => torch.randn([6, 3, 4, 4], generator: generator) * (i + 1) + i).ToList();

        var count = BatchNormReset.Run([bn], batches, b => bn.call(b));

        Assert.Equal(4, count);
        Assert.False(bn.training);
        // PyTorch's momentum=None: plain mean over batches of the batch mean and unbiased batch variance.
        var means = torch.stack(batches.Select(b => b.mean([0, 2, 3])).ToArray()).mean([0]);
        var vars = torch.stack(batches.Select(b => b.var([0, 2, 3], unbiased: true)).ToArray()).mean([0]);
        Assert.True(bn.running_mean!.allclose(means, rtol: 1e-5, atol: 1e-5), "running_mean differs");
        Assert.True(bn.running_var!.allclose(vars, rtol: 1e-5, atol: 1e-5), "running_var differs");
        Assert.Equal(0.1, bn.momentum);
    }

    [Fact]
    public void A_model_without_batchnorm_is_left_alone()
    {
        using var linear = nn.Linear(3, 2);
        var before = linear.weight!.clone();
        Assert.Equal(0, BatchNormReset.Run([linear], [torch.ones(2, 3)], b => linear.call(b)));
        Assert.True(before.Equals(linear.weight));
    }
}
