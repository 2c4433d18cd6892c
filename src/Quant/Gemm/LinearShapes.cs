using Zoetrope.Runtime;

namespace Zoetrope.Quant.Gemm;

/// <summary>Shape checks and the double-precision epilogue shared by the linear ops and their references.</summary>
public static class LinearShapes
{
    /// <summary>(M, K, N) of y = x W^T: x [M, K], W [N, K].</summary>
    /// <exception cref="ArgumentException">Ranks or inner dims disagree; the message names both tensors and shapes.</exception>
    public static (long M, long K, long N) Of(Tensor x, Tensor w)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(w);
        if (x.Rank != 2 || w.Rank != 2 || x.Shape[1] != w.Shape[1])
        {
            throw new ArgumentException($"linear: x '{x.Name}' {x.Shape} must be [M, K] and weight '{w.Name}' {w.Shape} [N, K] with the same K", w.Name);
        }
        return (x.Shape[0], x.Shape[1], w.Shape[0]);
    }

    /// <summary>The epilogue in double: bias, then GELU-tanh.</summary>
    public static double Epilogue(double v, double[]? bias, long n, bool gelu)
    {
        if (bias is not null)
        {
            v += bias[n];
        }
        return gelu ? Runtime.KernelMath.Activations.GeluTanh(v) : v;
    }
}
