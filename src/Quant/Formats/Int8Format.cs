using Zoetrope.Runtime.KernelMath;

namespace Zoetrope.Quant.Formats;

/// <summary>Symmetric INT8: clamp(round_half_even(v), -127, 127).</summary>
internal readonly struct Int8Format : IQuantFormat<sbyte>
{
    /// <inheritdoc />
    public sbyte Encode(float v) => QuantMath.QuantizeInt8(v, 1f);

    /// <inheritdoc />
    public float Decode(sbyte code) => code;
}
