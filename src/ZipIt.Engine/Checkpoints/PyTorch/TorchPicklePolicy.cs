using System.Numerics;
using System.Text;

namespace ZipIt.Engine.Checkpoints.PyTorch;

/// <summary>What a <see cref="PickleMachine"/> asks of its caller for everything beyond plain values.</summary>
internal abstract class PicklePolicy
{
    /// <summary>A <c>GLOBAL</c>: the object named, or a refusal.</summary>
    public abstract object Global(string module, string name);

    /// <summary>A <c>REDUCE</c>: <paramref name="callable"/>(*<paramref name="args"/>), or a refusal.</summary>
    public abstract object? Call(object? callable, object?[] args);

    /// <summary>A <c>NEWOBJ</c>: <paramref name="cls"/>.__new__(cls, *args), or a refusal.</summary>
    public abstract object? New(object? cls, object?[] args);

    /// <summary>A <c>BUILD</c>: sets <paramref name="target"/>'s state, or refuses.</summary>
    public abstract void Build(object? target, object? state);

    /// <summary>A persistent id (<c>BINPERSID</c>): the object it stands for.</summary>
    public abstract object? PersistentLoad(object? pid);

    /// <summary>A value's Python type, or a global's dotted name, for messages.</summary>
    public static string Describe(object? value) => value switch
    {
        null => "None",
        bool => "bool",
        long or BigInteger => "int",
        double => "float",
        string => "str",
        byte[] => "bytes",
        object?[] => "tuple",
        List<object?> => "list",
        PickleDict => "dict",
        PickleGlobal g => g.FullName,
        TensorRef => "tensor",
        StorageRef => "tensor storage",
        _ => value.GetType().Name,
    };
}

/// <summary>An accepted global (a tensor-rebuild function or a type): never more than its name.</summary>
internal sealed record PickleGlobal(string Module, string Name)
{
    public string FullName => $"{Module}.{Name}";
}

/// <summary>A tensor storage named by a persistent id: <see cref="Size"/> elements of <see cref="DType"/>.</summary>
/// <param name="Key">The storage's key: its file name under <c>data/</c> (zip) or its position key (legacy).</param>
/// <param name="DType">The safetensors code of the storage's element type.</param>
/// <param name="Size">Elements in the storage.</param>
/// <param name="ViewOf">Legacy storage views only: the root storage, of which this is a slice.</param>
/// <param name="ViewOffset">Elements into <paramref name="ViewOf"/> where this view starts.</param>
internal sealed record StorageRef(string Key, string DType, long Size, StorageRef? ViewOf = null, long ViewOffset = 0);

/// <summary>A tensor as <c>torch._utils._rebuild_tensor_v2</c> describes it: a strided view of a storage.</summary>
internal sealed record TensorRef(StorageRef Storage, long Offset, long[] Shape, long[] Stride);

/// <summary>
/// The only things a PyTorch checkpoint may ask for: tensor rebuilds (<c>torch._utils._rebuild_tensor_v2</c>,
/// <c>_rebuild_tensor</c>, <c>_rebuild_parameter</c>, <c>_rebuild_parameter_with_state</c>,
/// <c>torch._tensor._rebuild_from_type_v2</c> for plain tensors and parameters), storage types in
/// persistent ids (<c>torch.FloatStorage</c> …), <c>collections.OrderedDict</c>, <c>torch.Size</c>,
/// sets, and <c>_codecs.encode</c> (how protocol 2 writes bytes). Anything else is refused by name
/// before it is used. Nothing is ever imported or run: each accepted name maps to code here.
/// </summary>
internal sealed class TorchPicklePolicy(Func<object?, StorageRef> persistentLoad) : PicklePolicy
{
    /// <summary>torch's storage type names and their safetensors codes (UntypedStorage holds bytes).</summary>
    public static readonly IReadOnlyDictionary<string, string> StorageTypes = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["DoubleStorage"] = "F64",
        ["FloatStorage"] = "F32",
        ["HalfStorage"] = "F16",
        ["BFloat16Storage"] = "BF16",
        ["LongStorage"] = "I64",
        ["IntStorage"] = "I32",
        ["ShortStorage"] = "I16",
        ["CharStorage"] = "I8",
        ["ByteStorage"] = "U8",
        ["BoolStorage"] = "BOOL",
        ["UntypedStorage"] = "U8",
    };

    private static readonly HashSet<string> Callables = new(StringComparer.Ordinal)
    {
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
        "torch._tensor._rebuild_from_type_v2",
        "torch.Size",
        "builtins.set", "builtins.frozenset", "__builtin__.set", "__builtin__.frozenset",
        "_codecs.encode",
    };

    private static readonly HashSet<string> Types = new(StringComparer.Ordinal)
    {
        "torch.Tensor", "torch.nn.parameter.Parameter",
        "torch.float32", "torch.float16", "torch.bfloat16", "torch.float64", "torch.int64", "torch.int32",
        "torch.int16", "torch.int8", "torch.uint8", "torch.bool",
    };

    public override object Global(string module, string name)
    {
        var full = $"{module}.{name}";
        // Storage types of every element type are accepted as names; an unsupported one is
        // reported as such (not as code) when a persistent id uses it.
        if (Callables.Contains(full) || Types.Contains(full) || (module == "torch" && name.EndsWith("Storage", StringComparison.Ordinal) && IsIdentifier(name)))
            return new PickleGlobal(module, name);
        throw PickleException.Refuse($"the pickle calls {Shown(full)}");
    }

    public override object? Call(object? callable, object?[] args)
    {
        if (callable is not PickleGlobal g || !Callables.Contains(g.FullName))
            throw PickleException.Refuse($"the pickle calls {Shown(Describe(callable))}");
        switch (g.FullName)
        {
            case "collections.OrderedDict":
                var dict = new PickleDict();
                if (args.Length == 0) return dict;
                if (args.Length == 1 && args[0] is List<object?> pairs)
                {
                    foreach (var pair in pairs)
                    {
                        if (pair is not (object?[] or List<object?>)) throw new PickleException("OrderedDict() of something other than pairs");
                        var kv = pair as object?[] ?? ((List<object?>)pair).ToArray();
                        if (kv.Length != 2) throw new PickleException("OrderedDict() of something other than pairs");
                        dict.Set(kv[0], kv[1]);
                    }
                    return dict;
                }
                throw new PickleException("OrderedDict() with unexpected arguments");
            case "torch._utils._rebuild_tensor_v2":
                if (args.Length < 6) throw new PickleException($"_rebuild_tensor_v2 with {args.Length} arguments");
                CheckHooks(args[5]);
                return Tensor(args);
            case "torch._utils._rebuild_tensor":
                if (args.Length != 4) throw new PickleException($"_rebuild_tensor with {args.Length} arguments");
                return Tensor(args);
            case "torch._utils._rebuild_parameter":
            case "torch._utils._rebuild_parameter_with_state":
                if (args.Length < 3 || args[0] is not TensorRef data) throw new PickleException($"{g.Name} without a tensor");
                CheckHooks(args[2]);
                if (args.Length > 3) CheckState(args[3], "parameter");
                return data;
            case "torch._tensor._rebuild_from_type_v2":
                if (args.Length != 4 || args[2] is not object?[] inner) throw new PickleException("_rebuild_from_type_v2 with unexpected arguments");
                if (args[1] is not PickleGlobal { FullName: "torch.Tensor" or "torch.nn.parameter.Parameter" })
                    throw PickleException.Refuse($"the pickle rebuilds a tensor as {Shown(Describe(args[1]))}");
                CheckState(args[3], "tensor");
                return Call(args[0], inner) as TensorRef ?? throw new PickleException("_rebuild_from_type_v2 does not rebuild a tensor");
            case "torch.Size":
                return args.Length == 1 && args[0] is object?[] dims ? dims : throw new PickleException("torch.Size() without a tuple");
            case "_codecs.encode":
                if (args is [string text, string encoding] && encoding is "latin1" or "latin-1")
                    return text.Any(c => c > 0xff) ? throw new PickleException("_codecs.encode of a non-latin-1 string") : Encoding.Latin1.GetBytes(text);
                throw PickleException.Refuse("the pickle calls _codecs.encode with arguments other than (str, 'latin1')");
            default: // sets
                if (args.Length == 0) return new List<object?>();
                return args is [List<object?> items] ? new List<object?>(items) : throw new PickleException($"{g.Name}() with unexpected arguments");
        }
    }

    public override object? New(object? cls, object?[] args)
    {
        if (cls is PickleGlobal { FullName: "collections.OrderedDict" }) return new PickleDict();
        throw PickleException.Refuse($"the pickle creates an object of {Shown(Describe(cls))}");
    }

    public override void Build(object? target, object? state)
    {
        switch (target)
        {
            case PickleDict dict when state is PickleDict attributes:
                dict.State = attributes; // an OrderedDict's instance dict, e.g. a state dict's _metadata
                return;
            case TensorRef:
                CheckState(state, "tensor");
                return;
            default:
                throw PickleException.Refuse($"the pickle sets the state of a {Shown(Describe(target))}");
        }
    }

    public override object? PersistentLoad(object? pid) => persistentLoad(pid);

    private static TensorRef Tensor(object?[] args)
    {
        if (args[0] is not StorageRef storage) throw PickleException.Refuse($"the pickle rebuilds a tensor from a {Describe(args[0])}");
        if (args[1] is not long offset || offset < 0) throw new PickleException("a tensor's storage offset is not a non-negative int");
        var shape = Longs(args[2], "size");
        var stride = Longs(args[3], "stride");
        if (shape.Length != stride.Length) throw new PickleException($"a tensor has {shape.Length} sizes but {stride.Length} strides");
        if (shape.Any(d => d < 0) || stride.Any(s => s < 0)) throw new PickleException("a tensor has a negative size or stride");
        return new TensorRef(storage, offset, shape, stride);
    }

    private static long[] Longs(object? value, string what)
    {
        if (value is not object?[] items || !items.All(i => i is long or BigInteger))
            throw new PickleException($"a tensor's {what} is not a tuple of ints");
        if (items.FirstOrDefault(i => i is BigInteger) is BigInteger big)
            throw new PickleException($"a tensor's {what} {big} is past 64 bits");
        return items.Select(i => (long)i!).ToArray();
    }

    private static void CheckHooks(object? hooks)
    {
        // Hooks are functions, so any would already have been refused as a GLOBAL.
        if (hooks is not (null or PickleDict { Count: 0 }))
            throw PickleException.Refuse("the pickle attaches backward hooks to a tensor");
    }

    private static void CheckState(object? state, string what)
    {
        if (state is null or PickleDict { Count: 0 } or object?[] { Length: 0 }) return;
        throw PickleException.Refuse($"the pickle sets attributes on a {what}");
    }

    private static bool IsIdentifier(string name) => name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    /// <summary>A global's name as given in the file, cut and made printable.</summary>
    private static string Shown(string name) => name.Length > 200 ? name[..200] + "…" : name;
}
