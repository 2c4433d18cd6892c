using ILGPU;
using ILGPU.Algorithms;

namespace Zoetrope.Runtime.KernelMath;

/// <summary>
/// Butterfly reductions across a 32-lane warp (ILGPU kernels): after log2(32) exchanges every
/// lane holds the result, so no lane has to broadcast it. The summation order is fixed (lane i
/// with lane i^16, then i^8, ...), so a kernel's result does not depend on scheduling.
/// </summary>
internal static class WarpReduce
{
    /// <summary>Sum over the warp.</summary>
    public static float Sum(float value)
    {
        for (int offset = 16; offset > 0; offset >>= 1)
        {
            value += Warp.ShuffleXor(value, offset);
        }
        return value;
    }

    /// <summary>Maximum over the warp.</summary>
    public static float Max(float value)
    {
        for (int offset = 16; offset > 0; offset >>= 1)
        {
            value = XMath.Max(value, Warp.ShuffleXor(value, offset));
        }
        return value;
    }
}
