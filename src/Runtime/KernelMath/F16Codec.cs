namespace Zoetrope.Runtime.KernelMath;

/// <summary>f16 storage as <see cref="ILGPU.Half"/> (System.Half does not compile in kernels); PTX cvt.rn on GPUs.</summary>
internal readonly struct F16Codec : IElementCodec<ILGPU.Half>
{
    /// <inheritdoc />
    public float Load(ILGPU.Half value) => (float)value;

    /// <inheritdoc />
    public ILGPU.Half Store(float value) => (ILGPU.Half)value;
}
