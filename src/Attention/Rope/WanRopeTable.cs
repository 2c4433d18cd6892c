using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Rope;

/// <summary>
/// Wan's RoPE table: for every position p below <see cref="Positions"/> and every pair j of a
/// head, (cos, sin) of p * theta^(-2i/d_axis), where the axis (time, height, width) and i come
/// from j's place in the <see cref="RopeSplit"/>. Computed in double (as Wan does), stored
/// [positions, headDim/2, 2] f32. The kernels pick row p by the axis's coordinate of a token.
/// </summary>
internal static class WanRopeTable
{
    /// <summary>Positions per axis in Wan's tables.</summary>
    public const int Positions = 1024;

    /// <summary>Wan's theta.</summary>
    public const double Theta = 10000;

    /// <summary>Shape of the table for <paramref name="headDim"/>.</summary>
    public static Shape Shape(int headDim, int positions = Positions) => new(positions, headDim / 2, 2);

    /// <summary>The angle of pair <paramref name="pair"/> at position <paramref name="position"/>, in double.</summary>
    public static double Angle(RopeSplit split, int pair, long position, double theta = Theta)
    {
        int axisDims;
        int i;
        if (pair < split.TimePairs)
        {
            axisDims = split.TimeDims;
            i = pair;
        }
        else if (pair < split.TimePairs + split.HeightPairs)
        {
            axisDims = split.HeightDims;
            i = pair - split.TimePairs;
        }
        else
        {
            axisDims = split.WidthDims;
            i = pair - split.TimePairs - split.HeightPairs;
        }
        return position * Math.Pow(theta, -2.0 * i / axisDims);
    }

    /// <summary>The table as doubles in [positions, headDim/2, 2] order.</summary>
    public static double[] Values(RopeSplit split, int positions = Positions, double theta = Theta)
    {
        int pairs = split.HeadDim / 2;
        var v = new double[(long)positions * pairs * 2];
        for (int p = 0; p < positions; p++)
        {
            for (int j = 0; j < pairs; j++)
            {
                double a = Angle(split, j, p, theta);
                v[(((long)p * pairs) + j) * 2] = Math.Cos(a);
                v[((((long)p * pairs) + j) * 2) + 1] = Math.Sin(a);
            }
        }
        return v;
    }

    /// <summary>A host f32 tensor holding the table (upload it once per device).</summary>
    public static Tensor Create(RopeSplit split, int positions = Positions) =>
        Tensor.FromDoubles(Values(split, positions), DType.F32, Shape(split.HeadDim, positions), "rope_table");

    /// <summary>Harness input spec: the real table, so checks exercise the real frequencies.</summary>
    public static InitSpec Init(RopeSplit split, int positions = Positions) =>
        InitSpec.Custom($"wan rope table {split}", (values, _) => Values(split, positions).CopyTo(values, 0));

    /// <summary>(which coordinate: 0 time, 1 row, 2 column) of pair <paramref name="pair"/>.</summary>
    public static int Axis(RopeSplit split, int pair) =>
        pair < split.TimePairs ? 0 : pair < split.TimePairs + split.HeightPairs ? 1 : 2;
}
