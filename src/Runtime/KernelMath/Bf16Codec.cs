using ILGPU;

namespace Zoetrope.Runtime.KernelMath;

/// <summary>
/// bf16 storage as its 16-bit pattern. Store rounds to nearest even exactly as
/// <see cref="BFloat16.FromSingle"/> does on the host (NaN stays a quiet NaN).
/// </summary>
internal readonly struct Bf16Codec : IElementCodec<ushort>
{
    /// <inheritdoc />
    public float Load(ushort value) => Interop.IntAsFloat((uint)value << 16);

    /// <inheritdoc />
    public ushort Store(float value)
    {
        uint b = Interop.FloatAsInt(value);
        if ((b & 0x7FFF_FFFFu) > 0x7F80_0000u)
        {
            return (ushort)((b >> 16) | 0x0040u);
        }
        b += 0x7FFFu + ((b >> 16) & 1u);
        return (ushort)(b >> 16);
    }
}
