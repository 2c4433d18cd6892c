using Zoetrope.Runtime.KernelMath;

namespace Zoetrope.Quant.Formats;

/// <summary>FP8 E4M3: round to nearest even, saturating at 448.</summary>
internal readonly struct Fp8E4M3Format : IQuantFormat<byte>
{
    /// <inheritdoc />
    public byte Encode(float v) => Fp8Math.EncodeE4M3(v);

    /// <inheritdoc />
    public float Decode(byte code) => Fp8Math.DecodeE4M3(code);
}
