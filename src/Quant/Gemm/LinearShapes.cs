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

    /// <summary>
    /// The oracle GEMM in double: y[m, n] = epilogue(Σ over K tiles of scale(m, n, tile) · Σ_k x[m, k] w[n, k]).
    /// A single tile of width K with no scale is the plain linear. Integer operands stay exact:
    /// their products and per-tile sums are integers far below 2^53.
    /// </summary>
    public static double[] ReferenceGemm(double[] x, double[] w, long m, long n, long k, long kTile, Func<long, long, long, double>? scale, double[]? bias, bool gelu)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(w);
        kTile = Math.Max(1, Math.Min(kTile, k));
        var y = new double[m * n];
        // Rows are independent and each element keeps its own summation order, so running rows in
        // parallel changes no bit of the result; it only keeps model-sized oracles usable on CPUs.
        void Row(long i)
        {
            var xi = x.AsSpan((int)(i * k), (int)k);
            for (long j = 0; j < n; j++)
            {
                var wj = w.AsSpan((int)(j * k), (int)k);
                double acc = 0;
                for (long k0 = 0, kt = 0; k0 < k; k0 += kTile, kt++)
                {
                    int end = (int)Math.Min(k, k0 + kTile);
                    double part = 0;
                    for (int kk = (int)k0; kk < end; kk++)
                    {
                        part += xi[kk] * wj[kk];
                    }
                    acc += scale is null ? part : part * scale(i, j, kt);
                }
                y[(i * n) + j] = Epilogue(acc, bias, j, gelu);
            }
        }
        if (m * n * k < (1L << 18))
        {
            for (long i = 0; i < m; i++)
            {
                Row(i);
            }
        }
        else
        {
            Parallel.For(0L, m, Row);
        }
        return y;
    }

    /// <summary>gelu=true applies tanh-GELU in the epilogue.</summary>
    public static Zoetrope.Runtime.Ops.OpAttr<bool> GeluAttr { get; } = Zoetrope.Runtime.Ops.OpAttr.Bool("gelu", false, "apply GELU (tanh form) to y in the epilogue");

    /// <summary>dtype of y for the quantized GEMMs.</summary>
    public static Zoetrope.Runtime.Ops.OpAttr<DType> OutDTypeAttr { get; } =
        Zoetrope.Runtime.Ops.OpAttr.DTypeOf("dtype", DType.BF16, "dtype of the output y (and of bias)", DType.F32, DType.F16, DType.BF16);
}
