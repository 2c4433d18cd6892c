using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Quant.Gemm;

/// <summary>Shape checks and the double-precision epilogue shared by the linear ops and their references.</summary>
internal static class LinearShapes
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

    /// <summary>The epilogue in double: bias, then GELU-tanh, with the extra roundings of <paramref name="rounding"/> (<see cref="RoundingFlags"/>) to <paramref name="output"/>.</summary>
    public static double Epilogue(double v, double[]? bias, long n, bool gelu, DType output = DType.F32, int rounding = 0)
    {
        if (bias is not null)
        {
            v = (rounding & RoundBeforeBias) != 0 ? RoundTo(output, v) + bias[n] : v + bias[n];
        }
        if (!gelu)
        {
            return v;
        }
        return Runtime.KernelMath.Activations.GeluTanh((rounding & RoundBeforeGelu) != 0 ? RoundTo(output, v) : v);
    }

    /// <summary>
    /// <paramref name="v"/> rounded to <paramref name="output"/> (nearest even, through the dtype's
    /// codec); the identity for f32 and f64, whose rounding the oracle does not model.
    /// </summary>
    public static double RoundTo(DType output, double v)
    {
        if (output is DType.F32 or DType.F64)
        {
            return v;
        }
        Span<byte> bytes = stackalloc byte[8];
        ElementConvert.Write(output, bytes, 0, v);
        return ElementConvert.Read(output, bytes, 0);
    }

    /// <summary>
    /// kernels/gemm's rounding flags (zt_gemm.h's ZT_LINEAR_ROUND_*) for these attributes: an extra
    /// rounding before the bias only when there is a bias, before the GELU only when there is one,
    /// so 0 whenever the attributes change nothing.
    /// </summary>
    public static int RoundingFlags(Rounding rounding, bool separateBias, bool hasBias, bool gelu) =>
        (separateBias && hasBias ? RoundBeforeBias : 0) | (rounding == Rounding.PerOp && gelu ? RoundBeforeGelu : 0);

    /// <summary>R(acc) before the bias add (zt_gemm.h's ZT_LINEAR_ROUND_BEFORE_BIAS).</summary>
    public const int RoundBeforeBias = 1;

    /// <summary>R(acc + bias) before the GELU (zt_gemm.h's ZT_LINEAR_ROUND_BEFORE_GELU).</summary>
    public const int RoundBeforeGelu = 2;

    /// <summary>
    /// The oracle GEMM in double: y[m, n] = epilogue(Σ over K tiles of scale(m, n, tile) · Σ_k x[m, k] w[n, k]).
    /// A single tile of width K with no scale is the plain linear. <paramref name="rounding"/>: the
    /// epilogue's extra roundings to <paramref name="output"/> (<see cref="Epilogue"/>). Integer operands stay exact:
    /// their products and per-tile sums are integers far below 2^53.
    /// </summary>
    public static double[] ReferenceGemm(double[] x, double[] w, long m, long n, long k, long kTile, Func<long, long, long, double>? scale, double[]? bias, bool gelu,
        DType output = DType.F32, int rounding = 0)
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
                y[(i * n) + j] = Epilogue(acc, bias, j, gelu, output, rounding);
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
    public static OpAttr<bool> GeluAttr { get; } = OpAttr.Bool("gelu", false, "apply GELU (tanh form) to y in the epilogue");

    /// <summary>rounding=per-op: with GELU, y = R(gelu(R(acc + bias))), nn.Linear and nn.GELU as two eager bf16 ops.</summary>
    public static OpAttr<string> RoundingAttr { get; } = Runtime.RoundingAttr.Declare(
        "fused: one rounding of y; per-op: also round acc + bias to y's dtype before the GELU (nn.Linear then nn.GELU in bf16)");

    /// <summary>bias_add=separate: y = R(R(acc) + bias), a bias added as its own op (cuDNN's convolution then add_).</summary>
    public static OpAttr<string> BiasAddAttr { get; } = OpAttr.Choice("bias_add", "fused",
        "fused: bias added to the fp32 accumulator; separate: acc rounded to y's dtype first, then + bias (a convolution's bias in PyTorch's cuDNN path)", "fused", "separate");

    /// <summary>The <see cref="Rounding"/> named by <see cref="RoundingAttr"/>'s value.</summary>
    public static Rounding ParseRounding(string value) => Runtime.RoundingAttr.Parse(value);

    /// <summary><see cref="RoundingAttr"/>'s value for <paramref name="rounding"/>.</summary>
    public static string RoundingName(Rounding rounding) => Runtime.RoundingAttr.Name(rounding);

    /// <summary>dtype of y for the quantized GEMMs.</summary>
    public static OpAttr<DType> OutDTypeAttr { get; } =
        OpAttr.DTypeOf("dtype", DType.BF16, "dtype of the output y (and of bias)", DType.F32, DType.F16, DType.BF16);
}
