// TimestepEmbedding: Wan's timestep path, e = Linear(SiLU(Linear(sinusoid(t)))) and
// e0 = Linear(SiLU(e)) split into six modulation vectors. It depends on t alone, and a stream
// uses a handful of distinct timesteps (4 steps + the clean t = 0), so each t is computed once,
// on the host in double, and kept: no per-block cost, and the same values on every backend.
// With Rounding.PerOp (the reference numerics) every stage is rounded to bf16 as the PyTorch
// pipelines' bf16 modules round it: the f64 sinusoid once (through binary32, as PyTorch casts),
// each Linear's output (accumulate + bias, one rounding), each SiLU's output; e and e0 are then
// bf16 values held in f32.
using Zoetrope.Quant.Gemm;

namespace Zoetrope.Engine;

/// <summary>Per-timestep modulation vectors e [dim] and e0 [6, dim] (f32), memoised by t.</summary>
internal sealed class TimestepEmbedding
{
    private readonly DiTConfig _c;
    private readonly double[] _w0, _b0, _w2, _b2, _wp, _bp;
    private readonly Dictionary<double, (float[] E, float[] E0)> _memo = [];
    private readonly object _gate = new();
    private readonly bool _bf16;

    /// <summary>Reads the time_embedding and time_projection parameters; <paramref name="rounding"/> PerOp rounds every stage to bf16.</summary>
    public TimestepEmbedding(WanWeights weights, Rounding rounding = Rounding.Fused)
    {
        ArgumentNullException.ThrowIfNull(weights);
        _c = weights.Config;
        _bf16 = rounding == Rounding.PerOp;
        _w0 = weights["time_embedding.0.weight"].ToDoubles();
        _b0 = weights["time_embedding.0.bias"].ToDoubles();
        _w2 = weights["time_embedding.2.weight"].ToDoubles();
        _b2 = weights["time_embedding.2.bias"].ToDoubles();
        _wp = weights["time_projection.1.weight"].ToDoubles();
        _bp = weights["time_projection.1.bias"].ToDoubles();
    }

    /// <summary>e [dim] and e0 [6 * dim] for timestep <paramref name="t"/> in [0, 1000].</summary>
    public (float[] E, float[] E0) Of(double t)
    {
        lock (_gate)
        {
            if (!_memo.TryGetValue(t, out var v))
            {
                v = Compute(t);
                _memo[t] = v;
            }
            return v;
        }
    }

    /// <summary>The sinusoid of Wan: cos then sin of t * 10000^(-i/half), i &lt; half.</summary>
    public static double[] Sinusoid(int dim, double t)
    {
        int half = dim / 2;
        var s = new double[dim];
        for (int i = 0; i < half; i++)
        {
            double a = t * Math.Pow(10000, -(double)i / half);
            s[i] = Math.Cos(a);
            s[half + i] = Math.Sin(a);
        }
        return s;
    }

    private (float[] E, float[] E0) Compute(double t)
    {
        int d = _c.Dim;
        // One-row GEMMs with the oracle's double GEMM (bias in its epilogue).
        var h = R(LinearShapes.ReferenceGemm(R(Sinusoid(_c.FreqDim, t)), _w0, 1, d, _c.FreqDim, _c.FreqDim, null, _b0, false));
        var e = R(LinearShapes.ReferenceGemm(R(Silu(h)), _w2, 1, d, d, d, null, _b2, false));
        var e0 = R(LinearShapes.ReferenceGemm(R(Silu(e)), _wp, 1, 6 * d, d, d, null, _bp, false));
        return (e.Select(x => (float)x).ToArray(), e0.Select(x => (float)x).ToArray());
    }

    // A stage's output as the reference numerics hold it (bf16 through binary32), or as is.
    private double[] R(double[] x) => _bf16 ? x.Select(v => (double)BFloat16.FromSingle((float)v).ToSingle()).ToArray() : x;

    private static double[] Silu(double[] x) => x.Select(v => v / (1 + Math.Exp(-v))).ToArray();
}
