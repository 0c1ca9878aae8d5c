using System.Text.Json;
using ZipIt.Tests.Checkpoints;
using ZipIt.Tests.Infrastructure;

namespace ZipIt.Tests.Guides;

/// <summary>
/// The path of docs/guides/merge-torchvision-resnets.md and merge-timm-vits.md, at a size that runs
/// in seconds: two seeded models written by PyTorch with the scripts in examples/pytorch, a folder
/// of PNGs, zipit's merge and convert, then PyTorch again: <c>torch.load(weights_only=True)</c> and
/// <c>load_state_dict(strict=True)</c> into the torchvision/timm module, and its forward output on a
/// seeded batch against zipit's <c>predict</c> on the same batch and the same merged weights.
/// Needs Debian's python3-torch (skipped, saying so, without it); examples/pytorch needs nothing else.
/// </summary>
[Trait("Category", Tier.Integration)]
[Collection(SerialCollection.Name)]
public sealed class PyTorchRoundTripTests(PyTorchRoundTripTests.ImageFolder images) : IClassFixture<PyTorchRoundTripTests.ImageFolder>
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    /// <summary>float32 on two BLAS builds (libtorch 2.x in zipit, PyTorch 1.13 in Python).</summary>
    private const double Tolerance = 1e-4;

    private static string Script(string name) => Path.Combine(Repository.Root, "examples", "pytorch", name);

    /// <summary>Runs an examples/pytorch script as a user would; -B keeps __pycache__ out of the repository.</summary>
    private static string Python(string script, params string[] args)
    {
        var (code, output) = PythonTorch.Run(Limit, ["-B", Script(script), .. args]);
        Assert.True(code == 0, $"{script} {string.Join(" ", args)}: exit {code}\n{output}");
        return output;
    }

    private static CliResult Zipit(params string[] args)
    {
        var result = Tool.Run(args);
        Assert.True(result.ExitCode == 0, $"zipit {string.Join(" ", args)}: {result}");
        return result;
    }

    /// <summary>zipit's forward on io.pt's input against PyTorch's output in it (predict --compare).</summary>
    private static double Difference(TempDirectory dir, string model, string io, params string[] extra)
    {
        var result = Zipit(["predict", model, "-i", io, "-o", dir.File($"zipit-{Guid.NewGuid():N}.safetensors"), "--compare", io, "--json", .. extra]);
        return JsonDocument.Parse(result.Out).RootElement.GetProperty("maxAbsDifference").GetDouble();
    }

    /// <summary>One PNG folder for the class (Python's start-up is seconds on a busy machine), made on first use.</summary>
    public sealed class ImageFolder : IDisposable
    {
        private readonly TempDirectory _dir = new("zipit-guide-images");
        private readonly Lazy<string> _path;

        public ImageFolder() => _path = new(() =>
        {
            // 40 px and 40x30 images: zipit's crop takes them to the models' 32 px.
            Python("make_images.py", _dir.File("images"), "--classes", "4", "--per-class", "3", "--size", "40");
            return _dir.File("images");
        });

        public string Path => _path.Value;

        public void Dispose() => _dir.Dispose();
    }

    [PythonTorchFact]
    public void A_merged_torchvision_resnet_loads_back_into_pytorch_and_computes_what_zipit_computes()
    {
        using var dir = new TempDirectory();
        // torchvision's ResNet with one BasicBlock per stage: the resnet18 code path and key names.
        string[] arch = ["resnet18", "--blocks", "1,1,1,1", "--classes", "4"];
        Python("make_pair.py", [.. arch, dir.File("a.pth"), dir.File("b.pth")]);

        // Bare torch.save files record no preprocessing: --preprocess gives it, as the guide says.
        Zipit("merge", dir.File("a.pth"), dir.File("b.pth"), "--data", images.Path, "--preprocess", "imagenet", "size=32", "-o", dir.File("merged"));
        Zipit("convert", dir.File("merged"), "-o", dir.File("merged.pt"));
        var loaded = Python("load_back.py", [dir.File("merged.pt"), .. arch, "--size", "32", "--io", dir.File("io.pt")]);
        Assert.Contains("load_state_dict(strict=True) took all", loaded);

        var merged = Difference(dir, dir.File("merged"), dir.File("io.pt"));
        Assert.True(merged <= Tolerance, $"zipit's merged ResNet differs from PyTorch's by {merged}");
        // The comparison can fail: base model A on the same batch is another function.
        var baseA = Difference(dir, dir.File("a.pth"), dir.File("io.pt"));
        Assert.True(baseA > 1e-2, $"model A gives PyTorch's merged output to {baseA}: the merge changed nothing or the check sees nothing");
    }

    [PythonTorchFact]
    public void A_merged_timm_vit_loads_back_into_pytorch_and_computes_what_zipit_computes()
    {
        using var dir = new TempDirectory();
        // 64 wide with 2 heads of 32: timm's head-dim-64 guess would say 1 head, so only the
        // folder's config.json (model_args.num_heads) or --arch-set heads=2 gives the right split.
        string[] arch = ["vit", "--img-size", "32", "--patch", "4", "--dim", "64", "--depth", "2", "--heads", "2", "--classes", "4"];
        Python("make_pair.py", [.. arch, dir.File("vit-a"), dir.File("vit-b")]);

        // timm folders: heads and preprocessing come from config.json, so merge needs no options.
        Zipit("merge", dir.File("vit-a"), dir.File("vit-b"), "--data", images.Path, "-o", dir.File("merged"));
        Zipit("convert", dir.File("merged"), "-o", dir.File("merged.pt"));
        var loaded = Python("load_back.py", [dir.File("merged.pt"), .. arch, "--io", dir.File("io.pt")]);
        Assert.Contains("load_state_dict(strict=True) took all", loaded);

        var merged = Difference(dir, dir.File("merged"), dir.File("io.pt"));
        Assert.True(merged <= Tolerance, $"zipit's merged ViT differs from PyTorch's by {merged}");
        // The bare .pt records no head count: with --arch-set heads=2 zipit runs it as PyTorch does,
        // and with 1 head (the 64-wide guess) it computes another function, which the check sees.
        var bare = Difference(dir, dir.File("merged.pt"), dir.File("io.pt"), "--arch-set", "heads=2");
        Assert.True(bare <= Tolerance, $"merged.pt with --arch-set heads=2 differs from PyTorch's by {bare}");
        var wrongHeads = Difference(dir, dir.File("merged.pt"), dir.File("io.pt"), "--arch-set", "heads=1");
        Assert.True(wrongHeads > 1e-3, $"1 head instead of 2 gives PyTorch's output to {wrongHeads}: the check cannot see the head split");
    }

    [PythonTorchFact]
    public void The_example_modules_reproduce_the_torchvision_and_timm_fixtures()
    {
        // Checkpoints made by torchvision's and timm's own classes, with the outputs they computed,
        // and the key sets of real pretrained checkpoints: the example modules are those libraries'.
        var fixtures = Path.GetFullPath(Path.Combine(Repository.Root, "..", "shared", "fixtures"));
        Repository.Fixture("parity", "timm_vit_p4_d96_h3_l3.safetensors");
        var output = Python("check_fixtures.py", fixtures);
        Assert.Contains("timm_vit_p4_d96_h3_l3.safetensors: load_state_dict(strict=True) ok", output);
        Assert.Contains("torchvision_bottleneck_1111.safetensors: load_state_dict(strict=True) ok", output);
        Assert.Contains("torchvision_resnet18.json: resnet18 has the same 122 keys and shapes", output);
        Assert.Contains("timm_vit_small_patch16_224.json: vit_small_patch16_224 has the same 152 keys and shapes", output);
        Assert.EndsWith("ok", output.Trim());
    }
}
