using System.Buffers.Binary;

namespace Zoetrope.Runtime;

/// <summary>
/// Element conversions between the raw little-endian bytes of every <see cref="DType"/> and
/// <see cref="double"/>. Reading is exact for every type. Writing rounds to nearest even
/// (through <see cref="MiniFloat"/> for the narrow floats, so there is no double rounding);
/// FP8 E4M3 saturates at +-448 and E5M2 overflows to infinity; integers round to nearest even,
/// saturate to their range and map NaN to 0.
/// </summary>
internal static class ElementConvert
{
    /// <summary>Reads element <paramref name="index"/> of type <paramref name="type"/> from <paramref name="bytes"/>.</summary>
    public static double Read(DType type, ReadOnlySpan<byte> bytes, long index)
    {
        int size = type.Size();
        var s = bytes.Slice(checked((int)(index * size)), size);
        return type switch
        {
            DType.F32 => BinaryPrimitives.ReadSingleLittleEndian(s),
            DType.F64 => BinaryPrimitives.ReadDoubleLittleEndian(s),
            DType.F16 => MiniFloat.F16.Decode(BinaryPrimitives.ReadUInt16LittleEndian(s)),
            DType.BF16 => MiniFloat.BF16.Decode(BinaryPrimitives.ReadUInt16LittleEndian(s)),
            DType.F8E4M3 => MiniFloat.E4M3.Decode(s[0]),
            DType.F8E5M2 => MiniFloat.E5M2.Decode(s[0]),
            DType.I8 => (sbyte)s[0],
            DType.U8 => s[0],
            DType.I32 => BinaryPrimitives.ReadInt32LittleEndian(s),
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown dtype"),
        };
    }

    /// <summary>Writes <paramref name="value"/> as element <paramref name="index"/> of type <paramref name="type"/>.</summary>
    public static void Write(DType type, Span<byte> bytes, long index, double value)
    {
        int size = type.Size();
        var s = bytes.Slice(checked((int)(index * size)), size);
        switch (type)
        {
            case DType.F32:
                BinaryPrimitives.WriteSingleLittleEndian(s, (float)value);
                break;
            case DType.F64:
                BinaryPrimitives.WriteDoubleLittleEndian(s, value);
                break;
            case DType.F16:
                BinaryPrimitives.WriteUInt16LittleEndian(s, (ushort)MiniFloat.F16.Encode(value, saturate: false));
                break;
            case DType.BF16:
                BinaryPrimitives.WriteUInt16LittleEndian(s, BFloat16.FromDouble(value).Bits);
                break;
            case DType.F8E4M3:
                s[0] = Float8E4M3.FromDouble(value).Bits;
                break;
            case DType.F8E5M2:
                s[0] = Float8E5M2.FromDouble(value).Bits;
                break;
            case DType.I8:
                s[0] = (byte)(sbyte)RoundSaturate(value, sbyte.MinValue, sbyte.MaxValue);
                break;
            case DType.U8:
                s[0] = (byte)RoundSaturate(value, byte.MinValue, byte.MaxValue);
                break;
            case DType.I32:
                BinaryPrimitives.WriteInt32LittleEndian(s, (int)RoundSaturate(value, int.MinValue, int.MaxValue));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "unknown dtype");
        }
    }

    /// <summary>Converts a contiguous run of elements to doubles.</summary>
    public static void ToDoubles(DType type, ReadOnlySpan<byte> src, Span<double> dst)
    {
        for (int i = 0; i < dst.Length; i++)
        {
            dst[i] = Read(type, src, i);
        }
    }

    /// <summary>Converts doubles into a contiguous run of elements.</summary>
    public static void FromDoubles(DType type, ReadOnlySpan<double> src, Span<byte> dst)
    {
        for (int i = 0; i < src.Length; i++)
        {
            Write(type, dst, i, src[i]);
        }
    }

    /// <summary>Round to nearest even, then clamp to [min, max]; NaN is 0.</summary>
    public static double RoundSaturate(double value, double min, double max)
    {
        if (double.IsNaN(value))
        {
            return 0;
        }
        return Math.Clamp(Math.Round(value, MidpointRounding.ToEven), min, max);
    }
}
