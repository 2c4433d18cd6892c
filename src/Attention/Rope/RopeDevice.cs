using ILGPU;

namespace Zoetrope.Attention.Rope;

/// <summary>
/// The rotation of one (x[2j], x[2j+1]) pair inside ILGPU kernels: the pair's axis picks the
/// token's coordinate (frame + offset, row or column), which picks the row of the f32 table.
/// (x0 + i x1) * (cos + i sin) = (x0 cos - x1 sin) + i (x0 sin + x1 cos), in fp32.
/// </summary>
internal readonly struct RopeDevice(ArrayView<float> table, int pairs, int timePairs, int heightPairs, int height, int width, int frameOffset)
{
    private readonly ArrayView<float> _table = table;
    private readonly int _pairs = pairs;
    private readonly int _timePairs = timePairs;
    private readonly int _heightPairs = heightPairs;
    private readonly int _height = height;
    private readonly int _width = width;
    private readonly int _frameOffset = frameOffset;

    /// <summary>Builds the device view of a grid and split.</summary>
    public static RopeDevice Of(ArrayView<float> table, RopeGrid grid, RopeSplit split) =>
        new(table, split.HeadDim / 2, split.TimePairs, split.HeightPairs, grid.Height, grid.Width, grid.FrameOffset);

    /// <summary>Rotates pair <paramref name="pair"/> of token <paramref name="token"/> in place.</summary>
    public void Rotate(long token, int pair, ref float x0, ref float x1)
    {
        long hw = (long)_height * _width;
        long pos = pair < _timePairs
            ? (token / hw) + _frameOffset
            : pair < _timePairs + _heightPairs ? token / _width % _height : token % _width;
        long at = ((pos * _pairs) + pair) * 2;
        float c = _table[at];
        float s = _table[at + 1];
        float r0 = (x0 * c) - (x1 * s);
        float r1 = (x0 * s) + (x1 * c);
        x0 = r0;
        x1 = r1;
    }
}
