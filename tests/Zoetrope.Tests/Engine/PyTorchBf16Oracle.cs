// PyTorchBf16Oracle: one forward of Self-Forcing's / LongLive's generator (CausalWanModel after
// `pipeline.to(dtype=torch.bfloat16)`, no autocast) in plain C#, written from the pipelines'
// PyTorch code and the bf16 rounding points it implies (the issue-20 research notes: P1-P2 patch
// embedding, T0-T6 time path, T1'-T3' text path, B1-B35 per block, H1-H7 head), not from the
// engine's ops. Every parameter is rounded to bf16 first; every eager PyTorch op's output is
// rounded to bf16 (R below); inside an op the math runs in double, as the op's fp32 "opmath"
// would, and is rounded once. It uses no engine op: only Patchify's (de)patchify permutation
// and BFloat16's rounding.
//
// Scope: ONE forward with bidirectional self-attention over its own F frames (no KV cache, no
// mask), RoPE's temporal index at absolute frames 0..F-1, cross-attention over all TextTokens
// zero-padded prompt tokens (Self-Forcing passes context_lens = None).
//
// Attention is softmax(q k^T / sqrt(D)) V in double with one rounding at the output. It does NOT
// emulate FlashAttention's hidden rounding of the probabilities P to bf16 before P.V: the
// engine's reference backend computes attention in double too, and that rounding depends on FA's
// tile sizes (research section 4.3).
using Zoetrope.Engine;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Engine;

/// <summary>How the oracle rounds each op's output.</summary>
internal enum OracleRounding
{
    /// <summary>
    /// As PyTorch's bf16 tensors: the op's value to binary32, then to bf16 (its ops write an fp32
    /// opmath result; its f64 -> bf16 casts go through float, c10::BFloat16 having only a float
    /// constructor).
    /// </summary>
    Bf16,

    /// <summary>
    /// The engine's reference backend's arithmetic: each device op's double result straight to
    /// bf16 (no binary32 step), RoPE's cos and sin as binary32 (WanRopeTable's f32 table); the time
    /// path still through binary32, as TimestepEmbedding rounds it on the host. It parts from
    /// <see cref="Bf16"/> only where a value within a binary32 ulp of a bf16 midpoint rounds the
    /// other way (about one rounding in 2^16).
    /// </summary>
    Bf16Direct,

    /// <summary>No rounding and f32 parameters as given: Wan's math alone, to hold against the engine's f32 model.</summary>
    Exact,
}

/// <summary>Self-Forcing's bf16 DiT forward, rounded where PyTorch rounds.</summary>
internal sealed class PyTorchBf16Oracle
{
    // eps=1e-6 reaches the fp32 opmath as a float: LayerNorm's kernel takes it as its acc type,
    // and RMSNorm's `+ self.eps` adds a Python scalar to an fp32 tensor.
    private const double Eps = 1e-6f;
    private const double Theta = 10000;

    private readonly DiTConfig _c;
    private readonly OracleRounding _mode;
    private readonly Dictionary<string, double[]> _p = [];

    /// <summary>Reads every parameter of <paramref name="weights"/>, rounded to bf16 unless <paramref name="mode"/> is Exact (`pipeline.to(bfloat16)`).</summary>
    public PyTorchBf16Oracle(WanWeights weights, OracleRounding mode = OracleRounding.Bf16)
    {
        ArgumentNullException.ThrowIfNull(weights);
        _c = weights.Config;
        _mode = mode;
        foreach (string name in weights.Names)
        {
            _p[name] = Round(weights[name].ToDoubles());
        }
    }

    /// <summary>The config.</summary>
    public DiTConfig Config => _c;

    /// <summary>A value cast to bf16 through binary32 (PyTorch's f64 -> bf16 casts, the host time path), or as is when Exact.</summary>
    public double R32(double v) => _mode == OracleRounding.Exact ? v : BFloat16.FromSingle((float)v).ToSingle();

    /// <summary>One op output as the mode holds it.</summary>
    public double R(double v) => _mode switch
    {
        OracleRounding.Bf16 => BFloat16.FromSingle((float)v).ToSingle(),
        OracleRounding.Bf16Direct => BFloat16.FromDouble(v).ToSingle(),
        _ => v,
    };

    /// <summary>
    /// T0: sinusoidal_embedding_1d in float64: position * 10000^(-arange(half)/half), cos first
    /// then sin. (T1, the cast to bf16, is the caller's.)
    /// </summary>
    public static double[] Sinusoid(int dim, double t)
    {
        int half = dim / 2;
        var s = new double[dim];
        for (int i = 0; i < half; i++)
        {
            double a = t * Math.Pow(10000, -((double)i / half));
            s[i] = Math.Cos(a);
            s[half + i] = Math.Sin(a);
        }
        return s;
    }

    /// <summary>
    /// T0-T6: e = time_embedding(R(sinusoid(t))) [dim] and e0 = time_projection(e) [6 * dim]:
    /// Linear, SiLU, Linear, then SiLU, Linear, each rounded.
    /// </summary>
    public (double[] E, double[] E0) Time(double t)
    {
        int d = _c.Dim;
        var s = Sinusoid(_c.FreqDim, t).Select(R32).ToArray();
        var h = Linear(s, 1, _c.FreqDim, "time_embedding.0", R32);
        var e = Linear(h.Select(v => R32(Silu(v))).ToArray(), 1, d, "time_embedding.2", R32);
        var e0 = Linear(e.Select(v => R32(Silu(v))).ToArray(), 1, d, "time_projection.1", R32);
        return (e, e0);
    }

    /// <summary>
    /// P1-P2: Conv3d (kernel = stride = 1x2x2) as cuDNN runs it, the convolution rounded, then the
    /// bias added as a separate bf16 op: R(R(conv(x, W)) + b), [F*T, dim].
    /// </summary>
    public double[] PatchEmbed(ReadOnlySpan<float> latents, int frames)
    {
        var tokens = Patchify.ToTokens(_c, latents, frames).Select(v => R(v)).ToArray();
        long n = (long)frames * _c.FrameTokens;
        var conv = Linear(tokens, n, _c.PatchFeatures, _p["patch_embedding.weight"], null, _c.Dim);
        return AddRows(conv, _p["patch_embedding.bias"]);
    }

    /// <summary>
    /// T1'-T3': the prompt <paramref name="text"/> [L, TextDim] zero-padded to TextTokens (bf16),
    /// then Linear, GELU(tanh), Linear, each rounded: context [TextTokens, dim].
    /// </summary>
    public double[] Context(ReadOnlySpan<double> text)
    {
        var padded = new double[(long)_c.TextTokens * _c.TextDim];
        for (int i = 0; i < text.Length; i++)
        {
            padded[i] = R(text[i]);
        }
        var a = Linear(padded, _c.TextTokens, _c.TextDim, "text_embedding.0");
        return Linear(Map(a, GeluTanh), _c.TextTokens, _c.Dim, "text_embedding.2");
    }

    /// <summary>
    /// B13: causal_rope_apply at start_frame 0 on <paramref name="x"/> [F*T, dim] (heads of
    /// HeadDim): each head's (x[2i], x[2i+1]) pairs as complex128 times polar(1, angle), pairs split
    /// [c - 2(c/3), c/3, c/3] over (frame, row, column), angle = pos / theta^(2i / axis dims);
    /// one rounding of the double result.
    /// </summary>
    public double[] Rope(double[] x, int frames)
    {
        int heads = _c.Heads, hd = _c.HeadDim, pairs = hd / 2, gh = _c.GridHeight, gw = _c.GridWidth;
        int third = pairs / 3;
        int[] axisPairs = [pairs - (2 * third), third, third];
        long n = (long)frames * _c.FrameTokens;
        var y = new double[x.Length];
        for (long tok = 0; tok < n; tok++)
        {
            long[] pos = [tok / (gh * gw), tok / gw % gh, tok % gw];
            for (int j = 0; j < pairs; j++)
            {
                int axis = j < axisPairs[0] ? 0 : j < axisPairs[0] + axisPairs[1] ? 1 : 2;
                int i = axis == 0 ? j : axis == 1 ? j - axisPairs[0] : j - axisPairs[0] - axisPairs[1];
                // rope_params(1024, dims): outer(arange, 1.0 / pow(theta, arange(0, dims, 2) / dims)) in float64.
                double angle = pos[axis] * (1.0 / Math.Pow(Theta, 2.0 * i / (2 * axisPairs[axis])));
                double cos = Math.Cos(angle), sin = Math.Sin(angle);
                if (_mode == OracleRounding.Bf16Direct)
                {
                    (cos, sin) = ((float)cos, (float)sin);
                }
                for (int h = 0; h < heads; h++)
                {
                    long at = (tok * _c.Dim) + (h * hd) + (2 * j);
                    double re = x[at], im = x[at + 1];
                    y[at] = R((re * cos) - (im * sin));
                    y[at + 1] = R((re * sin) + (im * cos));
                }
            }
        }
        return y;
    }

    /// <summary>
    /// The velocity of one forward: <paramref name="latents"/> [16, F, H, W] (bf16 values),
    /// timestep <paramref name="timesteps"/>[f] for frame f, prompt <paramref name="text"/> [L, TextDim];
    /// the result [16, F, H, W] holds bf16 values (Exact: unrounded).
    /// </summary>
    public float[] Forward(ReadOnlySpan<float> latents, int frames, IReadOnlyList<double> timesteps, ReadOnlySpan<double> text)
    {
        ArgumentNullException.ThrowIfNull(timesteps);
        int d = _c.Dim;
        long n = (long)frames * _c.FrameTokens;
        var x = PatchEmbed(latents, frames);
        var e = new double[frames][];
        var e0 = new double[frames][];
        for (int f = 0; f < frames; f++)
        {
            (e[f], e0[f]) = Time(timesteps[f]);
        }
        var context = Context(text);
        for (int i = 0; i < _c.Layers; i++)
        {
            x = Block(i, x, frames, e0, context);
        }

        // H1-H6: (head.modulation + e).chunk(2): e[0] shift, e[1] scale; e is time_embedding's
        // output (not e0). LN (no affine), R(1 + scale), R(*), R(+ shift), Linear.
        var hm = _p["head.modulation"];
        var mod = new double[frames][];
        for (int f = 0; f < frames; f++)
        {
            mod[f] = new double[2 * d];
            for (int k = 0; k < 2 * d; k++)
            {
                mod[f][k] = R(hm[k] + e[f][k % d]);
            }
        }
        var h = Modulate(LayerNorm(x, n, null, null), frames, mod, shift: 0, scale: 1);
        var outTokens = Linear(h, n, d, "head.head");
        // H7: unpatchify, a pure permutation.
        return Patchify.FromTokens(_c, outTokens.Select(v => (float)v).ToArray(), frames);
    }

    // B1-B35: CausalWanAttentionBlock.forward.
    private double[] Block(int index, double[] x, int frames, double[][] e0, double[] context)
    {
        int d = _c.Dim;
        long n = (long)frames * _c.FrameTokens;
        string b = WanWeightNames.Block(index);

        // B1: (modulation + e0).chunk(6): 0 shift_sa, 1 scale_sa, 2 gate_sa, 3 shift_ff, 4 scale_ff, 5 gate_ff.
        var m = _p[$"{b}.modulation"];
        var mod = new double[frames][];
        for (int f = 0; f < frames; f++)
        {
            mod[f] = new double[6 * d];
            for (int j = 0; j < 6 * d; j++)
            {
                mod[f][j] = R(m[j] + e0[f][j]);
            }
        }

        // B2-B18: self-attention.
        var h = Modulate(LayerNorm(x, n, null, null), frames, mod, shift: 0, scale: 1);
        var q = Rope(RmsNorm(Linear(h, n, d, $"{b}.self_attn.q"), n, $"{b}.self_attn.norm_q.weight"), frames);
        var k = Rope(RmsNorm(Linear(h, n, d, $"{b}.self_attn.k"), n, $"{b}.self_attn.norm_k.weight"), frames);
        var v = Linear(h, n, d, $"{b}.self_attn.v");
        var y = Linear(Attention(q, n, k, v, n), n, d, $"{b}.self_attn.o");
        x = GatedAdd(x, y, frames, mod, gate: 2);

        // B19-B26: cross-attention over the whole padded context, K/V from the embedded prompt.
        int lt = _c.TextTokens;
        var n3 = LayerNorm(x, n, _p[$"{b}.norm3.weight"], _p[$"{b}.norm3.bias"]);
        var cq = RmsNorm(Linear(n3, n, d, $"{b}.cross_attn.q"), n, $"{b}.cross_attn.norm_q.weight");
        var ck = RmsNorm(Linear(context, lt, d, $"{b}.cross_attn.k"), lt, $"{b}.cross_attn.norm_k.weight");
        var cv = Linear(context, lt, d, $"{b}.cross_attn.v");
        var co = Linear(Attention(cq, n, ck, cv, lt), n, d, $"{b}.cross_attn.o");
        var sum = new double[x.Length];
        for (long i = 0; i < x.Length; i++)
        {
            sum[i] = R(x[i] + co[i]);
        }
        x = sum;

        // B27-B35: FFN.
        h = Modulate(LayerNorm(x, n, null, null), frames, mod, shift: 3, scale: 4);
        var f1 = Map(Linear(h, n, d, $"{b}.ffn.0"), GeluTanh);
        y = Linear(f1, n, _c.FfnDim, $"{b}.ffn.2");
        return GatedAdd(x, y, frames, mod, gate: 5);
    }

    // nn.Linear on a contiguous input: addmm, the bias in the fp32 accumulator, one rounding.
    private double[] Linear(double[] x, long rows, int inFeatures, string name, Func<double, double>? round = null) =>
        Linear(x, rows, inFeatures, _p[$"{name}.weight"], _p[$"{name}.bias"], _p[$"{name}.bias"].Length, round);

    private double[] Linear(double[] x, long rows, int inFeatures, double[] w, double[]? bias, int outFeatures, Func<double, double>? round = null)
    {
        round ??= R;
        var y = new double[rows * outFeatures];
        for (long r = 0; r < rows; r++)
        {
            for (int o = 0; o < outFeatures; o++)
            {
                double acc = bias?[o] ?? 0;
                for (int k = 0; k < inFeatures; k++)
                {
                    acc += x[(r * inFeatures) + k] * w[((long)o * inFeatures) + k];
                }
                y[(r * outFeatures) + o] = round(acc);
            }
        }
        return y;
    }

    private double[] AddRows(double[] x, double[] bias)
    {
        var y = new double[x.Length];
        for (long i = 0; i < x.Length; i++)
        {
            y[i] = R(x[i] + bias[i % bias.Length]);
        }
        return y;
    }

    // WanLayerNorm (nn.LayerNorm, eps 1e-6; biased variance): (x - mean) * rstd [* gamma + beta]
    // in the kernel's opmath, one rounding.
    private double[] LayerNorm(double[] x, long rows, double[]? gamma, double[]? beta)
    {
        int d = _c.Dim;
        var y = new double[x.Length];
        for (long r = 0; r < rows; r++)
        {
            var row = x.AsSpan((int)(r * d), d);
            double mean = 0;
            foreach (double v in row)
            {
                mean += v;
            }
            mean /= d;
            double var = 0;
            foreach (double v in row)
            {
                var += (v - mean) * (v - mean);
            }
            double rstd = 1 / Math.Sqrt((var / d) + Eps);
            for (int c = 0; c < d; c++)
            {
                double v = (row[c] - mean) * rstd;
                y[(r * d) + c] = R(gamma is null ? v : (v * gamma[c]) + beta![c]);
            }
        }
        return y;
    }

    // WanRMSNorm over the full dim: R(_norm(x.float())) then R(* weight), two ops.
    private double[] RmsNorm(double[] x, long rows, string weight)
    {
        var w = _p[weight];
        int d = _c.Dim;
        var y = new double[x.Length];
        for (long r = 0; r < rows; r++)
        {
            double ss = 0;
            for (int c = 0; c < d; c++)
            {
                ss += x[(r * d) + c] * x[(r * d) + c];
            }
            double inv = 1 / Math.Sqrt((ss / d) + Eps);
            for (int c = 0; c < d; c++)
            {
                y[(r * d) + c] = R(R(x[(r * d) + c] * inv) * w[c]);
            }
        }
        return y;
    }

    // B3-B5 / B28-B30 / H3-H5: norm * (1 + mod[scale]) + mod[shift], three eager ops, each rounded;
    // the rows of frame f read frame f's vectors.
    private double[] Modulate(double[] normed, int frames, double[][] mod, int shift, int scale)
    {
        int d = _c.Dim, t = _c.FrameTokens;
        var y = new double[normed.Length];
        for (long i = 0; i < y.Length; i++)
        {
            var m = mod[(int)(i / d / t)];
            int c = (int)(i % d);
            double onePlus = R(1 + m[(scale * d) + c]);
            y[i] = R(R(normed[i] * onePlus) + m[(shift * d) + c]);
        }
        return y;
    }

    // B17-B18 / B34-B35: x + y * gate, two eager ops: the residual stream stays bf16.
    private double[] GatedAdd(double[] x, double[] y, int frames, double[][] mod, int gate)
    {
        int d = _c.Dim, t = _c.FrameTokens;
        var o = new double[x.Length];
        for (long i = 0; i < o.Length; i++)
        {
            var m = mod[(int)(i / d / t)];
            o[i] = R(x[i] + R(y[i] * m[(gate * d) + (int)(i % d)]));
        }
        return o;
    }

    // softmax(q k^T / sqrt(D)) V per head over every key, in double, one rounding (see the header on P).
    private double[] Attention(double[] q, long nq, double[] k, double[] v, long nk)
    {
        int d = _c.Dim, hd = _c.HeadDim;
        double scale = 1 / Math.Sqrt(hd);
        var o = new double[nq * d];
        var s = new double[nk];
        for (int h = 0; h < _c.Heads; h++)
        {
            for (long i = 0; i < nq; i++)
            {
                double max = double.NegativeInfinity;
                for (long j = 0; j < nk; j++)
                {
                    double dot = 0;
                    for (int c = 0; c < hd; c++)
                    {
                        dot += q[(i * d) + (h * hd) + c] * k[(j * d) + (h * hd) + c];
                    }
                    s[j] = dot * scale;
                    max = Math.Max(max, s[j]);
                }
                double sum = 0;
                for (long j = 0; j < nk; j++)
                {
                    s[j] = Math.Exp(s[j] - max);
                    sum += s[j];
                }
                for (int c = 0; c < hd; c++)
                {
                    double acc = 0;
                    for (long j = 0; j < nk; j++)
                    {
                        acc += s[j] * v[(j * d) + (h * hd) + c];
                    }
                    o[(i * d) + (h * hd) + c] = R(acc / sum);
                }
            }
        }
        return o;
    }

    private double[] Map(double[] x, Func<double, double> f) => x.Select(v => R(f(v))).ToArray();

    private double[] Round(double[] x) => x.Select(R).ToArray();

    // nn.SiLU: x * sigmoid(x).
    private static double Silu(double x) => x / (1 + Math.Exp(-x));

    // nn.GELU(approximate='tanh').
    private static double GeluTanh(double x) => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + (0.044715 * x * x * x))));
}
