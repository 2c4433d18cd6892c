using ILGPU.Algorithms;

namespace Zoetrope.Runtime.KernelMath;

/// <summary>Activation functions for kernels and host code.</summary>
internal static class Activations
{
    private const float Sqrt2OverPi = 0.7978845608028654f;

    /// <summary>GELU, tanh approximation (what Wan's FFN uses): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).</summary>
    public static float GeluTanh(float x) => 0.5f * x * (1f + XMath.Tanh(Sqrt2OverPi * (x + (0.044715f * x * x * x))));

    /// <summary>The same in double, for references.</summary>
    public static double GeluTanh(double x) => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + (0.044715 * x * x * x))));
}
