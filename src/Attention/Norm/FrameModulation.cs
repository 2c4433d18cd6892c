using ILGPU;

namespace Zoetrope.Attention.Norm;

/// <summary>
/// Wan's per-frame modulation vectors, read inside kernels. e0 is [B, F, 6, dim] (the timestep
/// embedding of each latent frame projected to six vectors); each block adds its learned
/// (1, 6, dim) parameter. Vector k of chunk c is index 3c + k: chunk 0 = self-attention
/// (shift, scale, gate), chunk 1 = FFN (shift, scale, gate). Token row r of x [B, F*T, dim]
/// belongs to batch r / (F*T) and frame (r mod F*T) / T.
/// </summary>
internal readonly struct FrameModulation(ArrayView<float> e0, ArrayView<float> blockModulation, int frames, int frameTokens, int dim)
{
    private readonly ArrayView<float> _e0 = e0;
    private readonly ArrayView<float> _block = blockModulation;
    private readonly int _frames = frames;
    private readonly int _frameTokens = frameTokens;
    private readonly int _dim = dim;

    /// <summary>Vector <paramref name="index"/> (0..5) at column <paramref name="col"/> for token row <paramref name="row"/>: e0 + the block's parameter.</summary>
    public float Get(long row, int col, int index)
    {
        long tokens = (long)_frames * _frameTokens;
        long b = row / tokens;
        long f = (row - (b * tokens)) / _frameTokens;
        long at = ((((b * _frames) + f) * 6) + index) * _dim;
        return _e0[at + col] + _block[((long)index * _dim) + col];
    }
}
