namespace Zoetrope.Engine.Decode;

/// <summary>A block of the decoder's stack on the device (residual, attention, resample).</summary>
internal interface IWanVaeBlock : IDisposable
{
    /// <summary>Runs the chunk <paramref name="x"/> [T, H, W, C]; the result lives on slot <paramref name="outSlot"/> (not x's).</summary>
    Tensor Forward(WanVaeScratch scratch, Tensor x, string outSlot);

    /// <summary>Forgets the clip: caches to zeros, first-frame state back.</summary>
    void Reset();
}
