namespace Zoetrope.Runtime;

/// <summary>Facts about each <see cref="DType"/>: size, short name, kind.</summary>
public static class DTypes
{
    /// <summary>Every dtype, in code order.</summary>
    public static IReadOnlyList<DType> All { get; } = Enum.GetValues<DType>();

    /// <summary>Bytes per element.</summary>
    public static int Size(this DType t) => t switch
    {
        DType.F32 or DType.I32 => 4,
        DType.F16 or DType.BF16 => 2,
        DType.I8 or DType.U8 or DType.F8E4M3 or DType.F8E5M2 => 1,
        DType.F64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown dtype"),
    };

    /// <summary>The short lower-case name used in tables, the CLI and result files (f32, bf16, fp8_e4m3...).</summary>
    public static string Name(this DType t) => t switch
    {
        DType.F32 => "f32",
        DType.F16 => "f16",
        DType.BF16 => "bf16",
        DType.I8 => "i8",
        DType.U8 => "u8",
        DType.I32 => "i32",
        DType.F8E4M3 => "fp8_e4m3",
        DType.F8E5M2 => "fp8_e5m2",
        DType.F64 => "f64",
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown dtype"),
    };

    /// <summary>True for the integer types, whose results the harness compares exactly.</summary>
    public static bool IsInteger(this DType t) => t is DType.I8 or DType.U8 or DType.I32;

    /// <summary>True for the floating-point types (including FP8).</summary>
    public static bool IsFloat(this DType t) => !t.IsInteger();

    /// <summary>Parses a short name (<see cref="Name"/>) or the enum name, case-insensitively.</summary>
    /// <exception cref="ArgumentException">The name is not a dtype.</exception>
    public static DType Parse(string name)
    {
        foreach (var t in All)
        {
            if (string.Equals(t.Name(), name, StringComparison.OrdinalIgnoreCase) ||
                string.Equals(t.ToString(), name, StringComparison.OrdinalIgnoreCase))
            {
                return t;
            }
        }
        throw new ArgumentException(
            $"unknown dtype '{name}'; expected one of {string.Join(", ", All.Select(x => x.Name()))}", nameof(name));
    }
}
