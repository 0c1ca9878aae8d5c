using Xunit.Abstractions;
using ZipIt.Engine.Checkpoints;
using static ZipIt.Tests.ResNet.ResNetTestUtil;

namespace ZipIt.Tests.ResNet;

/// <summary>Forward-pass parity with the PyTorch models that wrote the fixtures (eval mode).</summary>
public class ResNetParityTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("resnet20x2_cifar")]
    [InlineData("torchvision_bottleneck_1111")]
    public void MatchesPyTorch(string name)
    {
        var path = ResNetFixtures.Path("parity", name + ".safetensors");
        var config = Architecture.Recognize(ResNetFixtures.Signature(path));
        Assert.NotNull(config);

        using var model = Architecture.Create(config);
        using var ckpt = Checkpoint.Open(path);
        var weights = ckpt.ReadAll();
        var own = model.state_dict();
        Assert.Equal(own.Keys.Order(StringComparer.Ordinal), weights.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, t) in own)
        {
            Assert.Equal(t.shape, weights[key].shape);
            Assert.Equal(t.dtype, weights[key].dtype);
        }
        model.load_state_dict(weights, strict: true);

        using var io = Checkpoint.Open(ResNetFixtures.Path("parity", name + ".io.safetensors"));
        using var input = io.Read("input");
        using var expected = io.Read("output");
        using var actual = Eval(model, input);
        var error = MaxAbsDiff(actual, expected);
        output.WriteLine($"{name}: {config}: max |out - output| = {error:E3}");
        Assert.True(error <= 1e-4, $"{name}: max abs error {error:E3} > 1e-4");
        foreach (var t in weights.Values) t.Dispose();
    }
}
