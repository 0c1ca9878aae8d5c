using System.Diagnostics;
using System.Net.Sockets;

namespace ZipIt.Tests.Cli;

/// <summary>FIFOs, devices and sockets given as inputs are refused in one line before anything opens them for reading.</summary>
public sealed class SpecialFileTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Fifo(string name)
    {
        var path = _dir.File(name);
        using var mkfifo = Process.Start("mkfifo", [path])!;
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
        return path;
    }

    /// <summary>Runs the command, and if it blocks on a FIFO, opens the FIFO for writing to free it before failing.</summary>
    private static CliResult RunUnblocked(string? fifo, params string[] args)
    {
        var run = Task.Run(() => Tool.Run(args));
        if (!run.Wait(TimeSpan.FromSeconds(30)))
        {
            if (fifo is not null)
                using (new FileStream(fifo, FileMode.Open, FileAccess.Write)) { }
            run.Wait(TimeSpan.FromSeconds(30));
            Assert.Fail($"'{string.Join(' ', args)}' blocked reading {fifo}");
        }
        return run.Result;
    }

    [Fact]
    public void A_fifo_checkpoint_is_refused_without_blocking()
    {
        var fifo = Fifo("fifo.safetensors");
        var result = RunUnblocked(fifo, "inspect", fifo);
        Assert.True(result.ExitCode == 3, result.ToString());
        ExitCodeTests.AssertOneErrorLine(result, "fifo.safetensors: is a named pipe (FIFO), not a regular file");
    }

    [Fact]
    public void A_character_device_is_refused_as_such_not_as_an_empty_file()
    {
        var result = RunUnblocked(null, "inspect", "/dev/zero");
        Assert.True(result.ExitCode == 3, result.ToString());
        ExitCodeTests.AssertOneErrorLine(result, "/dev/zero: is a character device, not a regular file");
        Assert.DoesNotContain("bytes long", result.Error);
    }

    [Fact]
    public void A_socket_is_refused()
    {
        var path = _dir.File("sock.safetensors");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        var result = RunUnblocked(null, "inspect", path);
        Assert.True(result.ExitCode == 3, result.ToString());
        ExitCodeTests.AssertOneErrorLine(result, "sock.safetensors: is a socket, not a regular file");
    }

    [Fact]
    public void A_fifo_as_recipe_or_data_is_refused_and_nothing_is_written()
    {
        var recipe = Fifo("recipe.json");
        var refused = RunUnblocked(recipe, "merge", recipe);
        Assert.True(refused.ExitCode == 3, refused.ToString());
        ExitCodeTests.AssertOneErrorLine(refused, "recipe.json: is a named pipe (FIFO)");

        var data = Fifo("data.safetensors");
        var model = Repository.Fixture("parity", "resnet20x2_cifar.safetensors");
        var collect = RunUnblocked(data, "collect", model, model, "--data", data, "-o", _dir.File("m.safetensors"));
        Assert.True(collect.ExitCode == 3, collect.ToString());
        ExitCodeTests.AssertOneErrorLine(collect, "data.safetensors: is a named pipe (FIFO)");
        Assert.Equal(["data.safetensors", "recipe.json"], _dir.Names());
    }
}
