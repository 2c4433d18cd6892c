using ILGPU;
using ILGPU.Runtime;

namespace Zoetrope.Quant;

/// <summary>Launch shapes of the quantization kernels: one 32-lane group per scale group.</summary>
internal static class QuantGrid
{
    public static KernelConfig Warps(long groups)
    {
        if (groups is < 1 or > int.MaxValue)
        {
            throw new NotSupportedException($"{groups} scale groups: a quantization launch takes 1 to 2^31 - 1");
        }
        return new KernelConfig((int)groups, 32);
    }
}
