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
}
