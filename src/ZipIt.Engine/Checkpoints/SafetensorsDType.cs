using TorchSharp;
using ScalarType = TorchSharp.torch.ScalarType;

namespace ZipIt.Engine.Checkpoints;

/// <summary>
/// The safetensors dtype codes ("F32", "BF16", …): which ones zipit reads and writes, their
/// TorchSharp <see cref="ScalarType"/> and their element size in bytes.
/// </summary>
/// <remarks>
/// Supported: F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL (one byte, 0 or 1). The other codes
/// that the format defines (U16, U32, U64, C64, the F8_* codes, F4, F6_*) are known but refused,
/// as TorchSharp 0.107 has no matching <see cref="ScalarType"/> (C64 has one, but nothing in
/// zipit merges complex weights). safetensors data is little-endian; so is every host TorchSharp
/// ships for, and zipit does not support big-endian hosts.
/// </remarks>
public static class SafetensorsDType
{
    private static readonly (string Code, ScalarType Type, int Size)[] Table =
    [
        ("F32", ScalarType.Float32, 4),
        ("F16", ScalarType.Float16, 2),
        ("BF16", ScalarType.BFloat16, 2),
        ("F64", ScalarType.Float64, 8),
        ("I64", ScalarType.Int64, 8),
        ("I32", ScalarType.Int32, 4),
        ("I16", ScalarType.Int16, 2),
        ("I8", ScalarType.Int8, 1),
        ("U8", ScalarType.Byte, 1),
        ("BOOL", ScalarType.Bool, 1),
    ];

    private static readonly string[] Refused =
    [
        "U16", "U32", "U64", "C64",
        "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ",
        "F4", "F6_E2M3", "F6_E3M2",
    ];

    private static readonly Dictionary<string, (ScalarType Type, int Size)> ByCode =
        Table.ToDictionary(t => t.Code, t => (t.Type, t.Size), StringComparer.Ordinal);

    private static readonly Dictionary<ScalarType, string> ByType = Table.ToDictionary(t => t.Type, t => t.Code);

    /// <summary>The codes zipit reads and writes, in the order above.</summary>
    public static IReadOnlyList<string> SupportedCodes { get; } = Table.Select(t => t.Code).ToArray();

    /// <summary>The codes the format defines that zipit refuses.</summary>
    public static IReadOnlyList<string> UnsupportedCodes { get; } = Refused;

    /// <summary>True for a code zipit reads and writes (case-sensitive, as in the format).</summary>
    public static bool IsSupported(string code) => ByCode.ContainsKey(code);

    /// <summary>True for any code the safetensors format defines, supported or not.</summary>
    public static bool IsKnown(string code) => ByCode.ContainsKey(code) || Array.IndexOf(Refused, code) >= 0;

    /// <summary>The TorchSharp type of a supported code.</summary>
    /// <exception cref="ArgumentException">The code is not supported.</exception>
    public static ScalarType ToScalarType(string code) =>
        ByCode.TryGetValue(code, out var t) ? t.Type : throw new ArgumentException($"unsupported safetensors dtype '{code}'", nameof(code));

    /// <summary>The element size in bytes of a supported code.</summary>
    /// <exception cref="ArgumentException">The code is not supported.</exception>
    public static int ElementSize(string code) =>
        ByCode.TryGetValue(code, out var t) ? t.Size : throw new ArgumentException($"unsupported safetensors dtype '{code}'", nameof(code));

    /// <summary>The safetensors code of a TorchSharp type, if zipit can write it.</summary>
    public static bool TryFromScalarType(ScalarType type, out string code)
    {
        if (ByType.TryGetValue(type, out var c)) { code = c; return true; }
        code = "";
        return false;
    }

    /// <summary>The safetensors code of a TorchSharp type.</summary>
    /// <exception cref="ArgumentException">zipit cannot write this type.</exception>
    public static string FromScalarType(ScalarType type) =>
        TryFromScalarType(type, out var c) ? c : throw new ArgumentException($"tensor type {type} has no supported safetensors dtype", nameof(type));

    /// <summary>
    /// Checks a code read from <paramref name="file"/> for <paramref name="tensor"/> and returns its
    /// element size; an unknown or unsupported code is a one-line input error (exit code 3).
    /// </summary>
    internal static int CheckReadable(string code, string file, string tensor)
    {
        if (ByCode.TryGetValue(code, out var t)) return t.Size;
        if (Array.IndexOf(Refused, code) >= 0)
        {
            throw CheckpointErrors.Input(file,
                $"tensor {CheckpointErrors.Quote(tensor)} has dtype {code}, which zipit does not support (supported: {string.Join(", ", SupportedCodes)})");
        }
        throw CheckpointErrors.Input(file, $"tensor {CheckpointErrors.Quote(tensor)} has unknown dtype {CheckpointErrors.Quote(code)}");
    }
}
