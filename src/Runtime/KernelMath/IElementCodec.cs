namespace Zoetrope.Runtime.KernelMath;

/// <summary>
/// How an ILGPU kernel reads and writes one storage type as fp32: kernels are written once,
/// generic over <c>(T, TCodec)</c>, and instantiated per dtype (ILGPU resolves the codec's calls
/// statically, so this costs nothing at run time).
/// </summary>
/// <typeparam name="T">The storage type (float, ILGPU.Half, ushort for bf16).</typeparam>
internal interface IElementCodec<T>
    where T : unmanaged
{
    /// <summary>The stored value as fp32 (exact for f32, f16 and bf16).</summary>
    float Load(T value);

    /// <summary>Rounds an fp32 value to the storage type (round to nearest even).</summary>
    T Store(float value);
}
