namespace Zoetrope.Runtime.KernelMath;

/// <summary>f32 storage: identity.</summary>
internal readonly struct F32Codec : IElementCodec<float>
{
    /// <inheritdoc />
    public float Load(float value) => value;

    /// <inheritdoc />
    public float Store(float value) => value;
}
