// The Wan VAE decoder against an oracle written from wan/modules/vae.py's procedure, not from the
// decoder: channel-first [C, T, H, W] volumes in double, WanVAE_.decode's loop of one latent frame
// at a time through Decoder3d with the feat_cache list (CACHE_T = 2, the "last frame of the
// previous cache" rule, and Resample's 'Rep' marker), CausalConv3d's pad-or-prepend, F.normalize,
// nearest-exact x2, scaled_dot_product_attention, the time_conv's reshape-and-stack. It shares
// nothing with the decoder but the weights.
using NUnit.Framework;
using Zoetrope.Engine.Decode;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Engine;

[TestFixture]
public sealed class WanVaeOracleTests
{
    [Test]
    public void TheTinyDecoderMatchesTheSourceProcedure()
    {
        var config = WanVaeConfig.Tiny;
        using var weights = WanVaeWeights.Random(config, seed: 11);
        var latents = Latents(frames: 3, 4, 4, seed: 5);
        var expected = new Oracle(weights, config).Decode(latents, frames: 3, 4, 4);
        using var decoder = new WanVaeDecoder(Backends.Host, weights, 4, 4, DType.F32);
        var got = decoder.Decode(latents, 3);
        Assert.That(got.Count, Is.EqualTo(expected.Count));
        Assert.That((got.Height, got.Width), Is.EqualTo((expected.Height, expected.Width)));
        double rel = EngineTestKit.RelL2(expected.Rgb, got.Rgb);
        TestContext.Out.WriteLine($"tiny decoder vs vae.py procedure: {got.Count} frames {got.Height}x{got.Width}, relL2 {rel:E2}");
        Assert.That(rel, Is.LessThan(1e-5));
        // Not a clamped-flat image: the comparison sees the values.
        Assert.That(got.Rgb.Count(v => v is > 0.001f and < 0.999f), Is.GreaterThan(got.Rgb.Length / 2));
    }

    [Test]
    public void OneUpsample3dOverThreeFramesFollowsTheRepRule()
    {
        // The source's upsample3d time step, fed 3 frames one chunk at a time, against the rule
        // the decoder is built on: frame 0 skips time_conv, and frames 1.. see an ordinary causal
        // conv over frames 1.. with zero history (never frame 0's features).
        const int c = 4, h = 2, w = 3;
        using var weights = WanVaeWeights.Random(WanVaeConfig.Tiny, seed: 2);
        var rng = new Random(9);
        var oracle = new Oracle(weights, WanVaeConfig.Tiny);
        var tw = RandomArray(rng, 2 * c * c * 3);
        var tb = RandomArray(rng, 2 * c);
        var frames = Enumerable.Range(0, 3).Select(_ => new Vol(c, 1, h, w, RandomArray(rng, c * h * w))).ToArray();
        object?[] cache = [null];
        var outs = new List<Vol>();
        foreach (var f in frames)
        {
            int idx = 0;
            outs.Add(oracle.TimeConvStep(f, tw, tb, c, cache, ref idx));
        }
        Assert.That(outs.Select(o => o.T), Is.EqualTo(new[] { 1, 2, 2 }), "the first frame skips time_conv; each later one makes two");
        Assert.That(outs[0].D, Is.EqualTo(frames[0].D), "frame 0 passes through unchanged");
        // Frame t >= 1 sees time_conv over [frame t-2, frame t-1, frame t] with frames < 1 zero.
        for (int t = 1; t < 3; t++)
        {
            for (int j = 0; j < 2; j++)
            {
                for (int co = 0; co < c; co++)
                {
                    for (int p = 0; p < h * w; p++)
                    {
                        double s = tb[(j * c) + co];
                        for (int dt = 0; dt < 3; dt++)
                        {
                            int src = t - 2 + dt;
                            if (src < 1)
                            {
                                continue;
                            }
                            for (int ci = 0; ci < c; ci++)
                            {
                                s += tw[((((j * c) + co) * c) + ci) * 3 + dt] * frames[src].D[(ci * h * w) + p];
                            }
                        }
                        Assert.That(outs[t].D[(((co * 2) + j) * h * w) + p], Is.EqualTo(s).Within(1e-12), $"frame {t}, half {j}, channel {co}");
                    }
                }
            }
        }
    }

    internal static float[] Latents(int frames, int h, int w, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, 16 * frames * h * w).Select(_ => (float)((rng.NextDouble() * 2) - 1)).ToArray();
    }

    private static double[] RandomArray(Random rng, int n) => Enumerable.Range(0, n).Select(_ => (rng.NextDouble() * 2) - 1).ToArray();

    /// <summary>A [C, T, H, W] volume (batch 1).</summary>
    internal sealed record Vol(int C, int T, int H, int W, double[] D)
    {
        public static Vol Zeros(int c, int t, int h, int w) => new(c, t, h, w, new double[c * t * h * w]);

        public int I(int c, int t, int h, int w) => (((((c * T) + t) * H) + h) * W) + w;

        public Vol Frames(int start, int count)
        {
            var r = Zeros(C, count, H, W);
            for (int c = 0; c < C; c++)
            {
                Array.Copy(D, I(c, start, 0, 0), r.D, r.I(c, 0, 0, 0), count * H * W);
            }
            return r;
        }

        public static Vol Cat(Vol a, Vol b)
        {
            var r = Zeros(a.C, a.T + b.T, a.H, a.W);
            for (int c = 0; c < a.C; c++)
            {
                Array.Copy(a.D, a.I(c, 0, 0, 0), r.D, r.I(c, 0, 0, 0), a.T * a.H * a.W);
                Array.Copy(b.D, b.I(c, 0, 0, 0), r.D, r.I(c, a.T, 0, 0), b.T * b.H * b.W);
            }
            return r;
        }

        public Vol Map(Func<double, double> f) => this with { D = Array.ConvertAll(D, v => f(v)) };

        public static Vol operator +(Vol a, Vol b) => a with { D = a.D.Zip(b.D, (x, y) => x + y).ToArray() };
    }

    /// <summary>vae.py's WanVAE.decode, step by step.</summary>
    internal sealed class Oracle(WanVaeWeights weights, WanVaeConfig config)
    {
        private double[] P(string key) => weights[key].ToDoubles();

        public VideoFrames Decode(float[] latents, int frames, int h, int w)
        {
            // z / scale[1] + scale[0] with scale = [mean, 1 / std].
            var z = Vol.Zeros(16, frames, h, w);
            for (int i = 0; i < z.D.Length; i++)
            {
                int ch = i / (frames * h * w);
                z.D[i] = (latents[i] / (1.0 / WanVaeConfig.LatentStd[ch])) + WanVaeConfig.LatentMean[ch];
            }
            var x = CausalConv3d(z, "conv2", null, 0, 0);
            var cache = new object?[256];
            Vol? output = null;
            for (int i = 0; i < frames; i++)
            {
                int idx = 0;
                var chunk = Decoder(x.Frames(i, 1), cache, ref idx);
                output = output is null ? chunk : Vol.Cat(output, chunk);
            }
            var o = output!.Map(v => Math.Clamp(v, -1, 1));
            var rgb = new float[o.T * o.H * o.W * 3];
            for (int t = 0; t < o.T; t++)
            {
                for (int y = 0; y < o.H; y++)
                {
                    for (int xx = 0; xx < o.W; xx++)
                    {
                        for (int c = 0; c < 3; c++)
                        {
                            rgb[((((t * o.H) + y) * o.W) + xx) * 3 + c] = (float)((o.D[o.I(c, t, y, xx)] + 1) / 2);
                        }
                    }
                }
            }
            return new VideoFrames(o.T, o.H, o.W, rgb);
        }

        private Vol Decoder(Vol x, object?[] cache, ref int idx)
        {
            x = CachedConv(x, "decoder.conv1", 1, 1, cache, ref idx);
            x = Residual(x, "decoder.middle.0", cache, ref idx);
            x = Attention(x, "decoder.middle.1");
            x = Residual(x, "decoder.middle.2", cache, ref idx);
            // Decoder3d.__init__: dims = dim * [mult[-1]] + mult reversed; stage i takes in_dim // 2 for i in 1..3.
            int n = config.DimMult.Count, layer = 0;
            for (int i = 0; i < n; i++)
            {
                for (int r = 0; r < config.NumResBlocks + 1; r++)
                {
                    x = Residual(x, $"decoder.upsamples.{layer++}", cache, ref idx);
                }
                if (i != n - 1)
                {
                    string p = $"decoder.upsamples.{layer++}";
                    if (config.TemporalUpsample[i])
                    {
                        x = TimeConvStep(x, P($"{p}.time_conv.weight"), P($"{p}.time_conv.bias"), x.C, cache, ref idx);
                    }
                    x = Conv(Upsample(x), P($"{p}.resample.1.weight"), P($"{p}.resample.1.bias"), x.C / 2, 1, 3, 3, 0, 1);
                }
            }
            x = Norm(x, P("decoder.head.0.gamma")).Map(Silu);
            return CachedConv(x, "decoder.head.2", 1, 1, cache, ref idx);
        }

        private Vol Residual(Vol x, string p, object?[] cache, ref int idx)
        {
            // ResidualBlock has a shortcut conv exactly when in_dim != out_dim.
            bool widens = weights[$"{p}.residual.0.gamma"].Shape[0] != weights[$"{p}.residual.3.gamma"].Shape[0];
            var h = widens ? CausalConv3d(x, $"{p}.shortcut", null, 0, 0) : x;
            var y = Norm(x, P($"{p}.residual.0.gamma")).Map(Silu);
            y = CachedConv(y, $"{p}.residual.2", 1, 1, cache, ref idx);
            y = Norm(y, P($"{p}.residual.3.gamma")).Map(Silu);
            y = CachedConv(y, $"{p}.residual.6", 1, 1, cache, ref idx);
            return y + h;
        }

        // The Decoder3d / ResidualBlock pattern around every CausalConv3d with a cache.
        private Vol CachedConv(Vol x, string key, int padT, int padHw, object?[] cache, ref int idx)
        {
            var cacheX = x.Frames(Math.Max(0, x.T - 2), Math.Min(2, x.T));
            if (cacheX.T < 2 && cache[idx] is Vol prev)
            {
                cacheX = Vol.Cat(prev.Frames(prev.T - 1, 1), cacheX);
            }
            var y = CausalConv3d(x, key, cache[idx] as Vol, padT, padHw);
            cache[idx] = cacheX;
            idx++;
            return y;
        }

        // Resample.forward's upsample3d branch, up to the reshape and stack.
        public Vol TimeConvStep(Vol x, double[] tw, double[] tb, int c, object?[] cache, ref int idx)
        {
            if (cache[idx] is null)
            {
                cache[idx] = "Rep";
                idx++;
                return x;
            }
            var cacheX = x.Frames(Math.Max(0, x.T - 2), Math.Min(2, x.T));
            if (cacheX.T < 2 && cache[idx] is Vol prev)
            {
                cacheX = Vol.Cat(prev.Frames(prev.T - 1, 1), cacheX);
            }
            if (cacheX.T < 2 && cache[idx] is "Rep")
            {
                cacheX = Vol.Cat(Vol.Zeros(cacheX.C, cacheX.T, cacheX.H, cacheX.W), cacheX);
            }
            var y = cache[idx] is "Rep" ? CausalConvWith(x, tw, tb, 2 * c, 3, 1, 1, null, 1, 0) : CausalConvWith(x, tw, tb, 2 * c, 3, 1, 1, (Vol)cache[idx]!, 1, 0);
            cache[idx] = cacheX;
            idx++;
            // x.reshape(b, 2, c, t, h, w); torch.stack((x[:, 0], x[:, 1]), 3); reshape(b, c, t * 2, h, w).
            var r = Vol.Zeros(c, 2 * y.T, y.H, y.W);
            for (int j = 0; j < 2; j++)
            {
                for (int ch = 0; ch < c; ch++)
                {
                    for (int t = 0; t < y.T; t++)
                    {
                        Array.Copy(y.D, y.I((j * c) + ch, t, 0, 0), r.D, r.I(ch, (2 * t) + j, 0, 0), y.H * y.W);
                    }
                }
            }
            return r;
        }

        private Vol CausalConv3d(Vol x, string key, Vol? cacheX, int padT, int padHw)
        {
            var shape = weights[$"{key}.weight"].Shape;
            return CausalConvWith(x, P($"{key}.weight"), P($"{key}.bias"), (int)shape[0], (int)shape[2], (int)shape[3], (int)shape[4], cacheX, padT, padHw);
        }

        // CausalConv3d.forward: padding (w, w, h, h, 2 * pad_t, 0); a cache is prepended and shortens the time pad.
        private static Vol CausalConvWith(Vol x, double[] w, double[] b, int cout, int kt, int kh, int kw, Vol? cacheX, int padT, int padHw)
        {
            int front = 2 * padT;
            if (cacheX is not null && front > 0)
            {
                x = Vol.Cat(cacheX, x);
                front -= cacheX.T;
            }
            return Conv(x, w, b, cout, kt, kh, kw, front, padHw);
        }

        // F.pad (time front, space both sides) then a valid convolution; weight [Cout, Cin, Kt, Kh, Kw].
        private static Vol Conv(Vol x, double[] w, double[] b, int cout, int kt, int kh, int kw, int front, int pad)
        {
            int to = x.T + front - kt + 1;
            var y = Vol.Zeros(cout, to, x.H, x.W);
            for (int co = 0; co < cout; co++)
            {
                for (int t = 0; t < to; t++)
                {
                    for (int oh = 0; oh < x.H; oh++)
                    {
                        for (int ow = 0; ow < x.W; ow++)
                        {
                            double s = b[co];
                            for (int ci = 0; ci < x.C; ci++)
                            {
                                for (int dt = 0; dt < kt; dt++)
                                {
                                    int ti = t + dt - front;
                                    if (ti < 0)
                                    {
                                        continue;
                                    }
                                    for (int dh = 0; dh < kh; dh++)
                                    {
                                        int ih = oh + dh - pad;
                                        for (int dw = 0; dw < kw; dw++)
                                        {
                                            int iw = ow + dw - pad;
                                            if (ih >= 0 && ih < x.H && iw >= 0 && iw < x.W)
                                            {
                                                s += w[(((((co * x.C) + ci) * kt + dt) * kh + dh) * kw) + dw] * x.D[x.I(ci, ti, ih, iw)];
                                            }
                                        }
                                    }
                                }
                            }
                            y.D[y.I(co, t, oh, ow)] = s;
                        }
                    }
                }
            }
            return y;
        }

        // RMS_norm: F.normalize over channels (eps 1e-12) * sqrt(C) * gamma.
        private static Vol Norm(Vol x, double[] gamma)
        {
            var y = Vol.Zeros(x.C, x.T, x.H, x.W);
            int plane = x.T * x.H * x.W;
            for (int p = 0; p < plane; p++)
            {
                double ss = 0;
                for (int c = 0; c < x.C; c++)
                {
                    ss += x.D[(c * plane) + p] * x.D[(c * plane) + p];
                }
                double inv = Math.Sqrt(x.C) / Math.Max(Math.Sqrt(ss), 1e-12);
                for (int c = 0; c < x.C; c++)
                {
                    y.D[(c * plane) + p] = x.D[(c * plane) + p] * inv * gamma[c];
                }
            }
            return y;
        }

        private static double Silu(double v) => v / (1 + Math.Exp(-v));

        // nn.Upsample(scale_factor=2, mode='nearest-exact'): source index floor((dst + 0.5) / 2).
        private static Vol Upsample(Vol x)
        {
            var y = Vol.Zeros(x.C, x.T, 2 * x.H, 2 * x.W);
            for (int c = 0; c < x.C; c++)
            {
                for (int t = 0; t < x.T; t++)
                {
                    for (int oh = 0; oh < y.H; oh++)
                    {
                        for (int ow = 0; ow < y.W; ow++)
                        {
                            int ih = Math.Min((int)Math.Floor((oh + 0.5) / 2), x.H - 1), iw = Math.Min((int)Math.Floor((ow + 0.5) / 2), x.W - 1);
                            y.D[y.I(c, t, oh, ow)] = x.D[x.I(c, t, ih, iw)];
                        }
                    }
                }
            }
            return y;
        }

        // AttentionBlock.forward: per frame, norm, to_qkv, q/k/v = channel thirds, SDPA (scale 1/sqrt(C)), proj, + identity.
        private Vol Attention(Vol x, string p)
        {
            int c = x.C, n = x.H * x.W;
            var qkv = Conv(Norm(x, P($"{p}.norm.gamma")), P($"{p}.to_qkv.weight"), P($"{p}.to_qkv.bias"), 3 * c, 1, 1, 1, 0, 0);
            var o = Vol.Zeros(c, x.T, x.H, x.W);
            for (int t = 0; t < x.T; t++)
            {
                double Q(int part, int ch, int i) => qkv.D[qkv.I((part * c) + ch, t, 0, 0) + i];
                for (int i = 0; i < n; i++)
                {
                    var s = new double[n];
                    for (int j = 0; j < n; j++)
                    {
                        for (int ch = 0; ch < c; ch++)
                        {
                            s[j] += Q(0, ch, i) * Q(1, ch, j);
                        }
                        s[j] /= Math.Sqrt(c);
                    }
                    double max = s.Max(), sum = s.Sum(v => Math.Exp(v - max));
                    for (int ch = 0; ch < c; ch++)
                    {
                        double acc = 0;
                        for (int j = 0; j < n; j++)
                        {
                            acc += Math.Exp(s[j] - max) / sum * Q(2, ch, j);
                        }
                        o.D[o.I(ch, t, 0, 0) + i] = acc;
                    }
                }
            }
            return Conv(o, P($"{p}.proj.weight"), P($"{p}.proj.bias"), c, 1, 1, 1, 0, 0) + x;
        }
    }
}
