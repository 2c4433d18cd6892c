namespace Zoetrope.Attention;

/// <summary>How per-head activations are laid out in memory.</summary>
public enum HeadLayout
{
    /// <summary>[B, H, N, D]: each head's tokens contiguous (what the attention kernels tile).</summary>
    Hnd = 0,
    /// <summary>[B, N, H, D]: each token's heads contiguous (a projection's output, split by view).</summary>
    Nhd = 1,
}
