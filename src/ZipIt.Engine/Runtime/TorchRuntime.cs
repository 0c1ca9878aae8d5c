using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using TorchSharp;
using static TorchSharp.torch;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Runtime;

/// <summary>
/// Process-wide libtorch: which one is loaded (the bundled CPU build, or a folder given by
/// <c>--libtorch</c> / <c>ZIPIT_LIBTORCH</c>, or an installed PyTorch's <c>torch/lib</c> found when
/// CUDA is asked for), the compute device, and the thread count.
/// </summary>
/// <remarks>
/// <para><b>Why the loading is done here.</b> A second libtorch in one process registers its
/// operators twice and aborts it. TorchSharp's native-backend loader (run by its static
/// constructor) probes for <c>torch_cpu</c> / <c>torch_cuda</c> with <c>NativeLibrary.TryLoad(name,
/// assembly)</c>, which looks next to the tool first and ignores DllImport resolvers: in a build
/// that carries libtorch it always loads the bundled copy (checked: preloading a copy of it from
/// another folder aborts the process). So a foreign libtorch is used only by a build without
/// bundled libtorch (<c>-p:ZipItBundleLibTorch=false</c>): there its libraries are loaded here by
/// full path, dependencies first, and TorchSharp's probes (by bare name) and
/// <c>libLibTorchSharp.so</c>'s <c>DT_NEEDED</c> entries bind to the already-loaded sonames. A build
/// with bundled libtorch refuses a foreign one with exit 5 instead of aborting.</para>
/// <para>Once loaded, the choice is final for the process: a later request for another folder is an
/// exit-5 error, never a second load.</para>
/// </remarks>
internal static class TorchRuntime
{
    public const string EnvironmentVariable = "ZIPIT_LIBTORCH";

    // The engine assembly holds every TorchSharp call the tool makes, so its module initialiser runs
    // before the first one: the resolver is in place whichever host (the tool, the tests) loads it.
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "the engine is the only caller of TorchSharp; see above")]
    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void RegisterAtStartup() => RegisterResolver();

    /// <summary>The libtorch that TorchSharp 0.107's <c>libLibTorchSharp.so</c> was built against.</summary>
    public static readonly Version BuiltAgainst = new(2, 10);

    /// <summary>Newest libtorch seen to work with it (PyTorch 2.11 cu130, on an H100).</summary>
    public static readonly Version KnownWorking = new(2, 11);

    private static readonly Lock Gate = new();
    private static int _threads;
    private static bool _resolverSet;
    private static LibTorchRequest _request = LibTorchRequest.Default;
    private static LoadedLibTorch? _loaded;
    private static ZipItException? _loadFailure;

    /// <summary>The libtorch loaded into this process, or null before the first computation.</summary>
    public static LoadedLibTorch? Loaded { get { lock (Gate) return _loaded; } }

    /// <summary>
    /// Records which libtorch this command asks for, before anything touches TorchSharp. Called by
    /// the command runner with <c>--libtorch</c> (else <c>ZIPIT_LIBTORCH</c>) and the command's
    /// <c>--device</c>; validates an explicit folder at once (exit 5).
    /// </summary>
    public static void Configure(string? option, string? environment, string? device)
    {
        var (dir, source) = option is { Length: > 0 } ? (option, "--libtorch")
            : environment is { Length: > 0 } ? (environment, EnvironmentVariable)
            : (null, null);
        if (dir is not null)
        {
            dir = Path.GetFullPath(dir);
            if (!Directory.Exists(dir))
                throw ZipItException.Resource($"{source} {dir}: no such folder");
            if (!File.Exists(Path.Combine(dir, "libtorch_cpu.so")))
                throw ZipItException.Resource($"{source} {dir}: no libtorch_cpu.so there (give a libtorch 'lib' folder, e.g. <python>/site-packages/torch/lib)");
        }
        lock (Gate)
        {
            _request = new LibTorchRequest(dir, source, WantsCuda(device));
            RegisterResolver();
        }
    }

    /// <summary>Loads libtorch (once) and sets the intra-op thread count; call before the first computation.</summary>
    public static void Initialize()
    {
        EnsureLoaded();
        if (Interlocked.Exchange(ref _threads, 1) == 1) return;
        // Uses every core for intra-op parallelism (libtorch's default may be fewer in containers).
        torch.set_num_threads(Environment.ProcessorCount);
    }

    /// <summary>
    /// Turns <c>auto|cpu|cuda|cuda:N</c> into a device, which the caller passes on to the stages
    /// (there is no ambient device). <c>auto</c> is CUDA when the loaded libtorch has CUDA and a GPU is visible, else CPU.
    /// Throws exit 2 for a malformed value, exit 5 when CUDA is asked for and unavailable (with why).
    /// </summary>
    public static Device ResolveDevice(string? spec)
    {
        spec = (spec ?? "auto").Trim().ToLowerInvariant();
        int? index = null;
        if (spec.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!int.TryParse(spec.AsSpan(5), out var i) || i < 0) throw ZipItException.Usage($"--device {spec}: expected auto, cpu, cuda or cuda:N (N ≥ 0)");
            index = i;
        }
        else if (spec is not ("auto" or "cpu" or "cuda"))
        {
            throw ZipItException.Usage($"--device {spec}: expected auto, cpu, cuda or cuda:N");
        }
        if (spec != "cpu" && spec != "auto") lock (Gate) _request = _request with { Cuda = true };
        Initialize();
        Device device;
        if (spec == "cpu")
        {
            device = torch.CPU;
        }
        else if (spec == "auto")
        {
            device = Cuda().Available ? torch.CUDA : torch.CPU;
        }
        else
        {
            var cuda = Cuda();
            if (!cuda.Available) throw ZipItException.Resource($"--device {spec}: {cuda.Why}");
            if (index is { } n && n >= cuda.Count)
                throw ZipItException.Resource($"--device {spec}: only {cuda.Count} GPU{(cuda.Count == 1 ? " is" : "s are")} visible (cuda:0{(cuda.Count > 1 ? $"…cuda:{cuda.Count - 1}" : "")})");
            device = new Device(DeviceType.CUDA, index ?? 0);
        }
        if (device.type == DeviceType.CUDA) Precision.UseFullFloat32();
        return device;
    }

    /// <summary>PyTorch's TF32 training default while the scope lives (<see cref="Precision.AllowTf32"/>).</summary>
    public static IDisposable AllowTf32(Device device) => Precision.AllowTf32(device);

    /// <summary>Whether CUDA can be used, how many GPUs are visible, and if not, why (one line).</summary>
    public static CudaStatus Cuda()
    {
        var loaded = EnsureLoaded();
        if (!loaded.HasCuda)
        {
            var why = loaded.Source == "bundled"
                ? $"no CUDA libtorch found (the bundled libtorch is CPU-only{(loaded.Searched.Count > 0 ? "; no PyTorch with CUDA on LD_LIBRARY_PATH, in the active venv/conda, ~/.local, /usr/local, /usr, /opt/conda or python3's path" : "")}); install PyTorch with CUDA, or set {EnvironmentVariable} / --libtorch to its torch/lib folder"
                : $"no CUDA libtorch found: {loaded.Dir} has no libtorch_cuda.so (a CPU-only build)";
            return new CudaStatus(false, 0, why);
        }
        bool available;
        int count;
        try
        {
            available = torch.TryInitializeDeviceType(DeviceType.CUDA) && torch.cuda.is_available();
            count = available ? torch.cuda.device_count() : 0;
        }
        catch (Exception e) when (e is ExternalException or InvalidOperationException or DllNotFoundException or EntryPointNotFoundException)
        {
            return new CudaStatus(false, 0, $"CUDA libtorch {loaded.Version ?? "(unknown version)"} in {loaded.Dir} failed to initialise: {Messages.OneLine(e.Message)}");
        }
        if (!available || count == 0)
            return new CudaStatus(false, 0, $"no GPU visible: CUDA libtorch {loaded.Version ?? "(unknown version)"} from {loaded.Dir} is loaded, but CUDA reports no device (check nvidia-smi, the driver's CUDA version{(loaded.CudaVersion is null ? "" : $" ≥ {loaded.CudaVersion}")} and CUDA_VISIBLE_DEVICES)");
        return new CudaStatus(true, count, null);
    }

    /// <summary>Loads the requested libtorch if nothing is loaded yet; the same one again is a no-op, another one is exit 5.</summary>
    public static LoadedLibTorch EnsureLoaded()
    {
        lock (Gate)
        {
            if (_loadFailure is not null) throw _loadFailure;
            var request = _request;
            if (_loaded is { } loaded)
            {
                if (request.Dir is not null && !LibTorchLocator.SameFolder(request.Dir, loaded.Dir))
                    throw ZipItException.Resource($"{request.Source} {request.Dir}: this process already runs libtorch from {loaded.Dir}; only one libtorch can be loaded into a process");
                return loaded;
            }
            try
            {
                _loaded = Load(request);
                return _loaded;
            }
            catch (ZipItException e)
            {
                // Sticky: TorchSharp must never get a half-loaded libtorch in this process.
                _loadFailure = e;
                throw;
            }
        }
    }

    private static LoadedLibTorch Load(LibTorchRequest request)
    {
        var bundled = LibTorchLocator.BundledFolder();
        var searched = new List<string>();
        string dir;
        string source;
        if (request.Dir is not null)
        {
            (dir, source) = (request.Dir, request.Source!);
        }
        else if (request.Cuda && LibTorchLocator.FindPyTorch(searched) is { } pytorch)
        {
            (dir, source) = (pytorch, "PyTorch");
        }
        else
        {
            dir = bundled ?? throw ZipItException.Resource($"no libtorch found: the tool carries none (a slim build); set {EnvironmentVariable} or --libtorch to a libtorch lib folder, e.g. <python>/site-packages/torch/lib");
            source = "bundled";
        }

        if (source != "bundled" && bundled is not null && !LibTorchLocator.SameFolder(dir, bundled))
            throw ZipItException.Resource($"{(source == "PyTorch" ? $"CUDA needs the PyTorch libtorch in {dir}, but" : $"{source} {dir}:")} this zipit build carries its own CPU libtorch ({bundled}), which TorchSharp always loads too, and two libtorch abort the process; use the build without bundled libtorch (README, \"Running on a GPU\")");
        var version = source == "bundled" ? LibTorchLocator.BundledVersion() : LibTorchLocator.VersionOf(dir);
        var cudaVersion = source == "bundled" ? null : LibTorchLocator.CudaVersionOf(dir);
        if (version is not null && LibTorchLocator.ParseVersion(version) is { } v && v < BuiltAgainst)
            throw ZipItException.Resource($"libtorch version mismatch: {dir} holds libtorch {version}; this zipit (TorchSharp 0.107) needs libtorch {BuiltAgainst} or newer ({BuiltAgainst} and {KnownWorking} are known to work)");

        var handles = new Dictionary<string, IntPtr>();
        var hasCuda = File.Exists(Path.Combine(dir, "libtorch_cuda.so"));
        // Dependencies first, so each later load binds to these copies by soname.
        string[] files = hasCuda
            ? ["libc10.so", "libtorch_cpu.so", "libc10_cuda.so", "libtorch_cuda.so", "libtorch.so"]
            : ["libc10.so", "libtorch_cpu.so", "libtorch.so"];
        foreach (var file in files)
        {
            var path = Path.Combine(dir, file);
            if (!File.Exists(path))
            {
                if (file == "libc10_cuda.so") continue;
                throw ZipItException.Resource($"libtorch in {dir} is incomplete: {file} is missing");
            }
            try { handles[file] = NativeLibrary.Load(path); }
            catch (DllNotFoundException e)
            {
                throw ZipItException.Resource($"cannot load {path}: {Messages.OneLine(e.Message)}", e);
            }
        }
        var glue = Path.Combine(LibTorchLocator.LibTorchSharpFolder() ?? dir, "libLibTorchSharp.so");
        try { handles["libLibTorchSharp.so"] = NativeLibrary.Load(glue); }
        catch (DllNotFoundException e)
        {
            // An undefined symbol here means LibTorchSharp's libtorch ABI differs from the loaded one.
            throw ZipItException.Resource($"libtorch version mismatch? cannot load {glue} against libtorch {version ?? "(unknown version)"} from {dir}: {Messages.OneLine(e.Message)}", e);
        }
        return new LoadedLibTorch(dir, source, version, cudaVersion, hasCuda, handles, searched);
    }

    /// <summary>
    /// Lets TorchSharp find the chosen libtorch when its own probe finds none (a build without
    /// bundled libtorch): the runtime raises this event only after probing failed, so it never
    /// replaces a bundled copy. Also called from a module initializer, so test and benchmark
    /// processes that touch torch before any command runs get the same libtorch.
    /// </summary>
    public static void RegisterResolver()
    {
        lock (Gate)
        {
            if (_resolverSet) return;
            System.Runtime.Loader.AssemblyLoadContext.Default.ResolvingUnmanagedDll += (assembly, name) =>
                assembly == typeof(torch).Assembly ? Resolve(name) : IntPtr.Zero;
            _resolverSet = true;
        }
    }

    private static IntPtr Resolve(string name)
    {
        var key = name switch
        {
            "torch_cpu" or "libtorch_cpu" or "libtorch_cpu.so" => "libtorch_cpu.so",
            "torch_cuda" or "libtorch_cuda" or "libtorch_cuda.so" => "libtorch_cuda.so",
            "LibTorchSharp" or "libLibTorchSharp" or "libLibTorchSharp.so" => "libLibTorchSharp.so",
            _ => null,
        };
        if (key is null) return IntPtr.Zero;
        LoadedLibTorch loaded;
        // On failure TorchSharp's type initialiser fails; the runner reports LoadFailure as the reason.
        try { loaded = EnsureLoaded(); }
        catch (ZipItException) { return IntPtr.Zero; }
        return loaded.Handles.GetValueOrDefault(key);
    }

    /// <summary>The one-line reason libtorch could not be loaded, if it could not (for the runner's error line).</summary>
    public static ZipItException? LoadFailure { get { lock (Gate) return _loadFailure; } }

    private static bool WantsCuda(string? device) =>
        device is not null && device.Trim().StartsWith("cuda", StringComparison.OrdinalIgnoreCase);
}
