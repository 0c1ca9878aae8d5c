using ZipIt.Engine.Checkpoints;
using ZipIt.Tests.Cli;

namespace ZipIt.Tests.Checkpoints;

/// <summary>
/// Pickles that would run code, or build objects zipit does not know, are refused with one line
/// naming what they ask for (exit 3), and nothing they hold is run.
/// </summary>
public sealed class PyTorchHostileTests
{
    private const string Accepted = "(only tensor rebuilds and plain containers are accepted)";

    /// <summary>Each case: a name, the pickle (its payload would create <c>marker</c>), and what the refusal names.</summary>
    public static TheoryData<string, string> Cases() => new()
    {
        { "os_system", "the pickle calls os.system" },
        { "posix_system", "the pickle calls posix.system" },
        { "builtins_eval", "the pickle calls builtins.eval" },
        { "builtin_exec", "the pickle calls __builtin__.exec" },
        { "subprocess", "the pickle calls subprocess.Popen" },
        { "stack_global", "the pickle calls os.system" },
        { "unknown_class", "the pickle calls __main__.Evil" },
        { "whole_module", "the pickle calls torchvision.models.resnet.ResNet" },
        { "inst_opcode", "the pickle uses opcode INST" },
        { "ext_opcode", "the pickle uses opcode EXT1" },
        { "reduce_storage_type", "the pickle calls torch.FloatStorage" },
        { "reduce_str", "the pickle calls str" },
        { "build_tuple", "the pickle sets the state of a tuple" },
        { "newobj_tensor", "the pickle creates an object of torch.Tensor" },
        { "tensor_subclass", "the pickle rebuilds a tensor as torch.Size" },
    };

    private static byte[] Pickle(string name, string marker)
    {
        var command = "touch " + marker;
        var p = new PickleBuilder();
        return name switch
        {
            "os_system" => p.Global("os", "system").Str(command).Byte(0x85).Op('R').Stop(),
            "posix_system" => p.Global("posix", "system").Str(command).Byte(0x85).Op('R').Stop(),
            "builtins_eval" => p.Global("builtins", "eval").Str($"__import__('os').system('{command}')").Byte(0x85).Op('R').Stop(),
            "builtin_exec" => p.Global("__builtin__", "exec").Str($"import os; os.system('{command}')").Byte(0x85).Op('R').Stop(),
            "subprocess" => p.Global("subprocess", "Popen").Op('(').Str("touch").Str(marker).Op('l').Byte(0x85).Op('R').Stop(),
            "stack_global" => p.Str("os").Str("system").Byte(0x93).Str(command).Byte(0x85).Op('R').Stop(),
            "unknown_class" => p.Global("__main__", "Evil").Op(')').Byte(0x81).Op('}').Str("cmd").Str(command).Op('s').Op('b').Stop(),
            "whole_module" => p.Global("torchvision.models.resnet", "ResNet").Op(')').Byte(0x81).Stop(),
            "inst_opcode" => p.Op('(').Str(command).Op('i').Raw("os\nsystem\n").Stop(),
            "ext_opcode" => p.Byte(0x82).Byte(1).Str(command).Byte(0x85).Op('R').Stop(),
            "reduce_storage_type" => p.Global("torch", "FloatStorage").Str(command).Byte(0x85).Op('R').Stop(),
            "reduce_str" => p.Str("os.system").Str(command).Byte(0x85).Op('R').Stop(),
            "build_tuple" => p.Str(command).Byte(0x85).Op('}').Op('b').Stop(),
            "newobj_tensor" => p.Global("torch", "Tensor").Op(')').Byte(0x81).Stop(),
            "tensor_subclass" => p.Global("torch._tensor", "_rebuild_from_type_v2").Op('(').Global("torch._utils", "_rebuild_tensor_v2")
                .Global("torch", "Size").Op(')').Op('}').Op('t').Op('R').Stop(),
            _ => throw new ArgumentException(name),
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_hostile_pickle_in_a_zip_checkpoint_is_refused_and_nothing_runs(string name, string refusal)
    {
        using var dir = new TempDirectory();
        var marker = dir.File("ran");
        var path = dir.File("model.pt");
        PickleBuilder.WriteZip(path, Pickle(name, marker));

        var message = CheckpointAssert.InputError(() => Checkpoint.Open(path).Dispose(), "model.pt", "refusing to load", refusal, Accepted);
        Assert.StartsWith(path + ": refusing to load: ", message);

        var result = Tool.Run("inspect", path);
        Assert.Equal(3, result.ExitCode);
        ExitCodeTests.AssertOneErrorLine(result, $"model.pt: refusing to load: {refusal}");
        Assert.False(File.Exists(marker), "the payload ran");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_hostile_raw_pickle_is_refused_too(string name, string refusal)
    {
        using var dir = new TempDirectory();
        var marker = dir.File("ran");
        var path = dir.File("model.pth");
        File.WriteAllBytes(path, Pickle(name, marker));
        CheckpointAssert.InputError(() => Checkpoint.Open(path).Dispose(), "model.pth", "refusing to load", refusal, Accepted);
        Assert.False(File.Exists(marker), "the payload ran");
    }

    [Theory]
    [InlineData("hostile_system.pt")]
    [InlineData("hostile_system_legacy.pt")]
    public void A_torch_save_file_with_a_reduce_payload_is_refused_through_every_command(string fixture)
    {
        // Written by PyTorch: a state dict whose 'payload' entry unpickles as os.system("touch …").
        const string marker = "/tmp/zipit-hostile-fixture-ran";
        File.Delete(marker);
        var path = PyTorchFixtures.Path(fixture);
        foreach (var args in new[] { new[] { "inspect", path }, ["inspect", path, "--json"], ["convert", path, "-o", Path.Combine(Path.GetTempPath(), "never.safetensors")] })
        {
            var result = Tool.Run(args);
            Assert.Equal(3, result.ExitCode);
            ExitCodeTests.AssertOneErrorLine(result, $"{fixture}: refusing to load: the pickle calls posix.system {Accepted}");
            Assert.Equal("", result.Out);
        }
        Assert.False(File.Exists(marker), "the payload ran");
        Assert.False(File.Exists(Path.Combine(Path.GetTempPath(), "never.safetensors")));
    }

    [Fact]
    public void A_storage_of_an_unsupported_type_is_named()
    {
        using var dir = new TempDirectory();
        var path = dir.File("complex.pt");
        var p = new PickleBuilder()
            .Global("collections", "OrderedDict").Op(')').Op('R')
            .Str("w").Global("torch._utils", "_rebuild_tensor_v2")
            .Op('(').Op('(').Str("storage").Global("torch", "ComplexFloatStorage").Str("0").Str("cpu").Int(1).Op('t').Op('Q')
            .Int(0).Int(1).Byte(0x85).Int(1).Byte(0x85).Byte(0x89).Global("collections", "OrderedDict").Op(')').Op('R').Op('t').Op('R')
            .Op('s').Stop();
        PickleBuilder.WriteZip(path, p, ("0", new byte[8]));
        CheckpointAssert.InputError(() => Checkpoint.Open(path).Dispose(), "complex.pt", "torch.ComplexFloatStorage", "does not support");
    }

    [Fact]
    public void A_hand_built_zip_checkpoint_reads_and_a_tensor_past_its_storage_is_refused()
    {
        using var dir = new TempDirectory();
        var path = dir.File("hand.pt");
        byte[] Build(byte size) => new PickleBuilder()
            .Global("collections", "OrderedDict").Op(')').Op('R')
            .Str("w").Global("torch._utils", "_rebuild_tensor_v2")
            .Op('(').Op('(').Str("storage").Global("torch", "FloatStorage").Str("0").Str("cpu").Int(2).Op('t').Op('Q')
            .Int(0).Int(size).Byte(0x85).Int(1).Byte(0x85).Byte(0x89).Global("collections", "OrderedDict").Op(')').Op('R').Op('t').Op('R')
            .Op('s').Stop();
        PickleBuilder.WriteZip(path, Build(2), ("0", [.. BitConverter.GetBytes(1.5f), .. BitConverter.GetBytes(-2f)]));
        using (var ok = Checkpoint.Open(path))
        using (var w = ok.Read("w"))
            Assert.Equal([1.5f, -2f], w.data<float>().ToArray());
        PickleBuilder.WriteZip(path, Build(3), ("0", new byte[8]));
        CheckpointAssert.InputError(() => Checkpoint.Open(path).Dispose(), "hand.pt", "'w' reaches past the end of its storage");
    }

    [Fact]
    public void A_pickle_without_a_state_dict_says_what_it_holds()
    {
        using var dir = new TempDirectory();
        var path = dir.File("list.pt");
        PickleBuilder.WriteZip(path, new PickleBuilder().Op(']').Stop());
        CheckpointAssert.InputError(() => Checkpoint.Open(path).Dispose(), "list.pt", "holds a list, not a state dict");
        PickleBuilder.WriteZip(path, new PickleBuilder().Op('}').Str("epoch").Int(3).Op('s').Stop());
        CheckpointAssert.InputError(() => Checkpoint.Open(path).Dispose(), "list.pt", "no state dict", "'epoch'");
    }
}
