using System.Text.Json;

namespace ZipIt.Tests.Checkpoints;

/// <summary><c>inspect</c> says which format it read, in text and JSON, and reads torch.save files' tensors lazily.</summary>
public sealed class PyTorchInspectTests
{
    [Theory]
    [InlineData("tiny_resnet.pt", "pytorch-zip", false, false, "PyTorch zip (torch.save)")]
    [InlineData("tiny_resnet_legacy.pt", "pytorch-legacy", false, false, "PyTorch legacy (torch.save before 1.6)")]
    [InlineData("tiny_resnet.safetensors", "safetensors", false, false, "safetensors")]
    [InlineData("hf_folder", "pytorch-zip", false, true, "PyTorch zip (torch.save), folder with config.json")]
    [InlineData("hf_sharded_bin", "pytorch-zip", true, true, "sharded PyTorch zip (torch.save) (2 files), folder with config.json")]
    public void Inspect_names_the_format_it_read(string fixture, string format, bool sharded, bool folder, string description)
    {
        var path = PyTorchFixtures.Path(fixture);
        var json = Tool.Run("inspect", path, "--json");
        Assert.True(json.ExitCode == 0, json.ToString());
        var root = JsonDocument.Parse(json.Out).RootElement;
        Assert.Equal(format, root.GetProperty("format").GetString());
        Assert.Equal(sharded, root.GetProperty("sharded").GetBoolean());
        Assert.Equal(folder, root.GetProperty("folder").GetBoolean());
        Assert.Equal(description, root.GetProperty("description").GetString());
        Assert.Equal(20, root.GetProperty("tensorCount").GetInt32());

        var text = Tool.Run("inspect", path);
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains($"\nformat:       {description}\n", text.Out);
    }

    [Fact]
    public void Inspect_shows_a_folders_config_as_metadata_and_logs_what_a_wrapper_left_out()
    {
        var folder = Tool.Run("inspect", PyTorchFixtures.Path("hf_folder"), "--json");
        var metadata = JsonDocument.Parse(folder.Out).RootElement.GetProperty("metadata");
        Assert.Equal("tiny_resnet", metadata.GetProperty("config.architecture").GetString());
        Assert.Equal("2", metadata.GetProperty("config.model_args.num_heads").GetString());

        var wrapped = Tool.Run("inspect", PyTorchFixtures.Path("tiny_resnet_wrapped.pt"), "-v", "d");
        Assert.Equal(0, wrapped.ExitCode);
        Assert.Contains("read the state dict under 'state_dict'; left out 'epoch', 'best_acc', 'arch', 'optimizer'", wrapped.Error);
    }
}
