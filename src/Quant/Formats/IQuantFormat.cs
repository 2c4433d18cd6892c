namespace Zoetrope.Quant.Formats;

/// <summary>A stored quantized format, for kernels: how x / scale becomes a code, and back.</summary>
/// <typeparam name="TQ">The code's storage type.</typeparam>
internal interface IQuantFormat<TQ>
    where TQ : unmanaged
{
    /// <summary>The code for <paramref name="v"/> (= x / scale).</summary>
    TQ Encode(float v);

    /// <summary>The value of <paramref name="code"/>.</summary>
    float Decode(TQ code);
}
