using Zoetrope.Attention;
using Zoetrope.Attention.Flash;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Execution;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Tests.Attention;

/// <summary>
/// What the attention tests share: running an op instance on a backend from host arrays, the
/// Sage quantization rule applied on the host (the rule of qk_norm_rope_int8, written out here
/// independently), and the cosine / relative-L1 metrics the SageAttention papers report.
/// </summary>
internal static class AttentionTestKit
{
    public static readonly Backend Cpu = Zoetrope.Runtime.Backends.Get(BackendKind.IlgpuCpu);

    /// <summary>Runs <paramref name="instance"/> on <paramref name="backend"/> (inputs converted to their declared dtypes) and returns every output.</summary>
    public static Dictionary<string, double[]> Run(OpInstance instance, Backend backend, IReadOnlyDictionary<string, double[]> inputs)
    {
        var tensors = new OpTensors();
        var owned = new List<Tensor>();
        try
        {
            foreach (var spec in instance.Signature.Tensors)
            {
                var t = spec.IsRead
                    ? Tensor.FromDoubles(inputs[spec.Name], spec.DType, spec.Shape, spec.Name).To(backend)
                    : backend.Allocate(spec.DType, spec.Shape, spec.Name);
                owned.Add(t);
                tensors.Add(spec.Name, t);
            }
            instance.Run(backend, tensors);
            backend.Synchronize();
            return instance.Signature.Writes.ToDictionary(s => s.Name, s => tensors[s.Name].ToDoubles());
        }
        finally
        {
            owned.ForEach(t => t.Dispose());
        }
    }

    /// <summary>The reference backend's outputs for the same inputs.</summary>
    public static Dictionary<string, double[]> Reference(OpInstance instance, IReadOnlyDictionary<string, double[]> inputs)
    {
        var tensors = instance.Signature.Reads.ToDictionary(s => s.Name, s => Tensor.FromDoubles(inputs[s.Name], s.DType, s.Shape, s.Name));
        try
        {
            return ReferenceRunner.Run(instance, tensors);
        }
        finally
        {
            foreach (var t in tensors.Values)
            {
                t.Dispose();
            }
        }
    }

    public static double[] Gaussian(long n, int seed, double std = 1)
    {
        var v = new double[n];
        InitSpec.Gaussian(0, std).Fill(v, new Random(seed));
        return v;
    }

    /// <summary>Values rounded to <paramref name="dtype"/> (what a tensor of that type holds).</summary>
    public static double[] Rounded(double[] v, DType dtype)
    {
        using var t = Tensor.FromDoubles(v, dtype, new Shape(v.Length));
        return t.ToDoubles();
    }

    /// <summary>
    /// Sage quantization of an HND tensor [B, H, N, D]: optionally subtract the per-(b, h, d) mean
    /// over tokens, multiply by <paramref name="fold"/>, then per block of <paramref name="rows"/>
    /// tokens: scale = max(amax / 127, 1e-8), q = clamp(round-half-even(x / scale), -127, 127).
    /// </summary>
    public static (double[] Q, double[] Scale, double[] Mean) SageQuantize(double[] x, int b, int h, int n, int d, int rows, bool smooth, double fold)
    {
        var mean = new double[(long)b * h * d];
        var q = new double[x.Length];
        int blocks = (n + rows - 1) / rows;
        var scales = new double[(long)b * h * blocks];
        for (long bh = 0; bh < (long)b * h; bh++)
        {
            if (smooth)
            {
                for (int c = 0; c < d; c++)
                {
                    double s = 0;
                    for (int i = 0; i < n; i++)
                    {
                        s += x[((bh * n) + i) * d + c];
                    }
                    mean[(bh * d) + c] = (float)(s / n);
                }
            }
            for (int blk = 0; blk < blocks; blk++)
            {
                int r0 = blk * rows, r1 = Math.Min(n, r0 + rows);
                float amax = 0;
                for (int i = r0; i < r1; i++)
                {
                    for (int c = 0; c < d; c++)
                    {
                        amax = Math.Max(amax, Math.Abs((float)((x[((bh * n) + i) * d + c] - mean[(bh * d) + c]) * fold)));
                    }
                }
                float scale = Math.Max(amax / 127f, 1e-8f);
                scales[(bh * blocks) + blk] = scale;
                for (int i = r0; i < r1; i++)
                {
                    for (int c = 0; c < d; c++)
                    {
                        long at = ((bh * n) + i) * d + c;
                        q[at] = Math.Clamp(Math.Round((float)((x[at] - mean[(bh * d) + c]) * fold) / scale, MidpointRounding.ToEven), -127, 127);
                    }
                }
            }
        }
        return (q, scales, mean);
    }

    public static double Cosine(double[] a, double[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }

    /// <summary>sum |a - e| / sum |e|.</summary>
    public static double RelL1(double[] expected, double[] actual)
    {
        double num = 0, den = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            num += Math.Abs(actual[i] - expected[i]);
            den += Math.Abs(expected[i]);
        }
        return num / den;
    }

    /// <summary>max |a - e| and relative L2.</summary>
    public static (double MaxAbs, double RelL2) Errors(double[] expected, double[] actual)
    {
        double max = 0, num = 0, den = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double d = Math.Abs(actual[i] - expected[i]);
            max = Math.Max(max, d);
            num += d * d;
            den += expected[i] * expected[i];
        }
        return (max, Math.Sqrt(num / den));
    }

    /// <summary>An HND geometry.</summary>
    public static AttentionGeometry Hnd(int b, int h, int hkv, int nq, int nkv, int d, AttentionMask mask) =>
        new(b, h, hkv, nq, nkv, d, HeadLayout.Hnd, mask);
}
