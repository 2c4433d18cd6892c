using Zoetrope.Runtime;

namespace Zoetrope.Attention.Norm;

/// <summary>Double-precision row statistics shared by the norm ops' references.</summary>
internal static class NormReference
{
    /// <summary>Mean and 1/sqrt(variance + eps) of x[start .. start+dim), variance taken about the mean.</summary>
    public static (double Mean, double Rstd) Moments(ReadOnlySpan<double> x, long start, int dim, double eps)
    {
        var row = x.Slice((int)start, dim);
        double mean = 0;
        foreach (var v in row)
        {
            mean += v;
        }
        mean /= dim;
        double var = 0;
        foreach (var v in row)
        {
            var += (v - mean) * (v - mean);
        }
        return (mean, 1 / Math.Sqrt((var / dim) + eps));
    }

    /// <summary>
    /// adaLN of every token row of x [B, F*T, dim] in double: LN(x) * (1 + scale) + shift with
    /// vectors 3c, 3c+1 of e0 + block; per-op rounds each vector, LN(x), 1 + scale, the product
    /// and the sum to <paramref name="dtype"/> (the kernels' order).
    /// </summary>
    public static double[] ModulatedLayerNorm(double[] x, double[] e0, double[] block, int frames, int frameTokens, int dim, int chunk, float eps,
        Rounding rounding, DType dtype)
    {
        double R(double v) => NormRounding.At(rounding, dtype, v);
        var h = new double[x.Length];
        long rows = x.Length / dim;
        for (long r = 0; r < rows; r++)
        {
            var (mean, rstd) = Moments(x, r * dim, dim, eps);
            for (int c = 0; c < dim; c++)
            {
                double shift = R(ModulationShapes.Vector(e0, block, frames, frameTokens, dim, r, c, 3 * chunk));
                double scale = R(ModulationShapes.Vector(e0, block, frames, frameTokens, dim, r, c, (3 * chunk) + 1));
                double n = R((x[(r * dim) + c] - mean) * rstd);
                h[(r * dim) + c] = R(R(n * R(1 + scale)) + shift);
            }
        }
        return h;
    }
}
