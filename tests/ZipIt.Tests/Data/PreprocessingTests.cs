using System.Text.Json;
using TorchSharp;
using ZipIt.Engine.Core;
using ZipIt.Engine.Data;
using static ZipIt.Tests.Data.DataFiles;

namespace ZipIt.Tests.Data;

public sealed class PreprocessingTests
{
    [Fact]
    public void Overrides_start_from_a_preset_or_the_models_and_round_trip_through_the_checkpoint_json()
    {
        var p = Preprocessing.Apply(null, ["imagenet", "size=192", "interpolation=bicubic"], "--preprocess");
        Assert.Equal((192, 3, ResizeMode.Crop, 0.875, "bicubic"), (p.Size, p.Channels, p.Resize, p.CropPct, p.Interpolation));
        Assert.Equal([0.485, 0.456, 0.406], p.Mean);
        var back = Preprocessing.FromJson(p.ToJson(), "m.safetensors");
        Assert.True(back.SameAs(p));
        Assert.Equal("""{"size":192,"channels":3,"mean":[0.485,0.456,0.406],"std":[0.229,0.224,0.225],"resize":"crop","crop_pct":0.875,"interpolation":"bicubic"}""", p.ToJson());
        var grey = Preprocessing.Apply(new Preprocessing(32, 3, [0.286], [0.353]), ["mean=0.3", "std=0.4"], "--preprocess");
        Assert.Equal(32, grey.Size);
        Assert.Equal([0.3], grey.Mean);
        Assert.Equal([0.4], grey.Std);
    }

    [Theory]
    [InlineData("colour=1", "unknown key 'colour'")]
    [InlineData("size=big", "size=big: a whole number is needed")]
    [InlineData("mean=0.5,x", "'x' is not a number")]
    [InlineData("resize=squash", "expected pad, resize or crop")]
    [InlineData("vgg", "neither KEY=VALUE")]
    [InlineData("std=0", "std must be positive finite numbers")]
    public void A_bad_override_is_a_usage_error_naming_the_option(string item, string message)
    {
        var e = Assert.Throws<ZipItException>(() => Preprocessing.Apply(new Preprocessing(32, 3, [0.5], [0.5]), [item], "--preprocess"));
        Assert.Equal(ExitCode.Usage, e.Code);
        Assert.Contains("--preprocess", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void A_timm_pretrained_cfg_is_read_and_corrupt_metadata_is_an_input_error()
    {
        using var doc = JsonDocument.Parse("""{"architecture":"vit_small_patch16_224","pretrained_cfg":{"input_size":[3,224,224],"mean":[0.5,0.5,0.5],"std":[0.5,0.5,0.5],"interpolation":"bicubic","crop_pct":0.9}}""");
        var p = Preprocessing.FromTimmConfig(doc.RootElement, "vit/config.json")!;
        Assert.Equal((224, 3, ResizeMode.Crop, 0.9, "bicubic"), (p.Size, p.Channels, p.Resize, p.CropPct, p.Interpolation));
        using var none = JsonDocument.Parse("""{"pretrained_cfg":{"tag":"x"}}""");
        Assert.Null(Preprocessing.FromTimmConfig(none.RootElement, "x/config.json"));
        var e = Assert.Throws<ZipItException>(() => Preprocessing.FromJson("""{"size":32,"channels":3,"mean":[0.5,0.5],"std":[1]}""", "m.safetensors"));
        Assert.Equal(ExitCode.Input, e.Code);
        Assert.Contains("m.safetensors: preprocessing: mean has 2 values; 1 or 3 (one per channel) are needed", e.Message);
    }

    [Fact]
    public void Crop_resizes_the_shorter_side_then_takes_the_centre_as_torchvision_does()
    {
        // A 10×20 image whose column x is x: resized (nearest) so the shorter side is 8 / 1.0 = 8, i.e. 8×16, then the centre 8×8.
        using var bytes = torch.arange(20, dtype: torch.ScalarType.Byte).view(1, 1, 1, 20).expand(1, 1, 10, 20).contiguous();
        var transform = new Preprocessing(8, 1, [0.0], [1 / 255.0]) { Resize = ResizeMode.Crop, CropPct = 1.0, Interpolation = "nearest" }.Transform();
        using var x = transform.Apply(bytes);
        Assert.Equal([1L, 1, 8, 8], x.shape);
        // Nearest column of output column j of 16 is floor(j * 20 / 16); the crop starts at column 4.
        Assert.Equal(Enumerable.Range(4, 8).Select(j => (float)Math.Floor(j * 20 / 16.0)).ToArray(), Floats(x[0, 0, 0]).Select(v => MathF.Round(v)).ToArray());
    }

    [Fact]
    public void Colour_made_grey_and_grey_repeated_to_the_models_channels()
    {
        using var colour = torch.tensor(new byte[] { 255, 0, 0 }, [1, 3, 1, 1], torch.ScalarType.Byte);
        using var grey = new Preprocessing(1, 1, [0.0], [1.0]).Transform().Apply(colour);
        Assert.Equal(0.299f, Floats(grey)[0], 5);
        using var one = torch.tensor(new byte[] { 51 }, [1, 1, 1, 1], torch.ScalarType.Byte);
        using var three = new Preprocessing(1, 3, [0.1, 0.2, 0.3], [1.0, 1.0, 1.0]).Transform().Apply(one);
        Assert.Equal([0.1f, 0.0f, -0.1f], Floats(three).Select(v => MathF.Round(v, 5)).ToArray());
    }
}
