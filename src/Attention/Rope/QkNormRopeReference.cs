namespace Zoetrope.Attention.Rope;

/// <summary>The QK-norm + RoPE oracle in double, shared by both ops: [B, N, H*D] in, [B, H, N, D] or [B, N, H, D] out (the geometry's layout).</summary>
internal static class QkNormRopeReference
{
    public static double[] Compute(QkGeometry g, double[] x, double[] weight, double[] table)
    {
        var o = new double[x.Length];
        int dim = g.Dim;
        for (long b = 0; b < g.Batch; b++)
        {
            for (long n = 0; n < g.Tokens; n++)
            {
                long start = ((b * g.Tokens) + n) * dim;
                double ss = 0;
                for (int c = 0; c < dim; c++)
                {
                    ss += x[start + c] * x[start + c];
                }
                double rstd = 1 / Math.Sqrt((ss / dim) + g.Eps);
                for (int p = 0; p < dim / 2; p++)
                {
                    int h = p / (g.HeadDim / 2);
                    int j = p % (g.HeadDim / 2);
                    double x0 = x[start + (2 * p)] * rstd * weight[2 * p];
                    double x1 = x[start + (2 * p) + 1] * rstd * weight[(2 * p) + 1];
                    long at = g.Index(b, h, n, 2 * j);
                    (o[at], o[at + 1]) = RopeReference.Rotate(table, g.Grid, g.Split, n, j, x0, x1);
                }
            }
        }
        return o;
    }
}
