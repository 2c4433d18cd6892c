// The TAEHV decoder against an oracle written in this file from taehv.py's own procedure, in
// double, per frame in PyTorch's [C, H, W] layout: Clamp, 2-D convolutions done by hand,
// MemBlock as conv(cat([x, past])) with past the previous frame's input (zeros first), nearest
// x2 Upsample, then TGrow as a 1x1 convolution whose channel groups become frames, ReLU, the
// output clamp and the 3-frame trim. The decoder does none of it this way (conv3d with Kt = 2,
// TGrow folded into the upsampling 3x3, channel-last), so agreement checks every mapping.
using NUnit.Framework;
using Zoetrope.Engine;
using Zoetrope.Engine.Decode;
using Zoetrope.Quant.Conv;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Engine;

[TestFixture]
public sealed class TaehvOracleTests
{
    [TestCase(1)]
    [TestCase(3)]
    public void TheDecoderIsTaehvsProcedure(int frames)
    {
        var dit = DiTConfig.Micro;
        using var weights = TaehvWeights.Random(TaehvConfig.Small, 9);
        var latents = TaehvDecoderTests.Latents(dit, frames, 40);
        using var decoder = TaehvDecoder.Create(Backends.Get(BackendKind.Reference), weights, DType.F32, dit.LatentHeight, dit.LatentWidth);
        var got = decoder.Decode(latents, frames);
        var want = Oracle(weights, latents, frames, dit.LatentChannels, dit.LatentHeight, dit.LatentWidth, out int count, out int height, out int width);
        Assert.That((got.Count, got.Height, got.Width), Is.EqualTo((count, height, width)));
        double rel = EngineTestKit.RelL2(want, got.Rgb);
        TestContext.Out.WriteLine($"{frames} latent frames: relL2 vs the oracle {rel:E2}");
        Assert.That(rel, Is.LessThan(1e-5));
        Assert.That(want.Count(v => v > 0 && v < 1), Is.GreaterThan(want.Length / 2), "most pixels are not clamped");
    }

    [Test]
    public void MemBlocksCatOfXAndPastIsAKt2ConvolutionWithTheWeightsHalvesSwapped()
    {
        // The mapping TaehvConv.MemoryConv makes, stated on its own: conv(cat([x_t, x_{t-1}])) with
        // W [C, 2C, 3, 3] is conv3d over [.., x_{t-1}, x_t] with tap 0 = W[:, C:] and tap 1 = W[:, :C],
        // whether the clip runs at once (causal zero frame) or frame by frame (the cached frame prepended).
        const int c = 4, h = 3, w = 5, frames = 3;
        var rng = new GaussianNoise(77);
        var x = Enumerable.Range(0, frames).Select(_ => Enumerable.Range(0, c * h * w).Select(_ => rng.Next()).ToArray()).ToList();
        var weight = Enumerable.Range(0, c * 2 * c * 9).Select(_ => rng.Next() / 6).ToArray();
        var bias = Enumerable.Range(0, c).Select(_ => rng.Next()).ToArray();
        var expected = new List<double>();
        for (int t = 0; t < frames; t++)
        {
            var cat = x[t].Concat(t == 0 ? new double[c * h * w] : x[t - 1]).ToArray();
            expected.AddRange(ToChannelLast(Conv2d(cat, 2 * c, h, w, weight, bias, c, 3), c, h, w));
        }
        var kt2 = new double[c * 2 * 9 * c];
        for (int o = 0; o < c; o++)
        {
            for (int tap = 0; tap < 2; tap++)
            {
                for (int k = 0; k < 9; k++)
                {
                    for (int i = 0; i < c; i++)
                    {
                        int from = tap == 0 ? c + i : i;
                        kt2[((((o * 2) + tap) * 9) + k) * c + i] = weight[((o * 2 * c) + from) * 9 + k];
                    }
                }
            }
        }
        using var wt = Tensor.FromDoubles(kt2, DType.F32, new Shape(c, 2, 3, 3, c), "w");
        using var bt = Tensor.FromDoubles(bias, DType.F32, new Shape(c), "b");
        var all = x.SelectMany(f => ToChannelLast(f, c, h, w)).ToArray();
        using var whole = Tensor.FromDoubles(all, DType.F32, new Shape(frames, h, w, c), "x");
        using var y = Backends.Host.Allocate(DType.F32, new Shape(frames, h, w, c), "y");
        Conv3d.Run(whole, wt, bt, null, y);
        Assert.That(Rel(expected, y.ToDoubles()), Is.LessThan(1e-6), "whole clip, causal padding");
        var streamed = new List<double>();
        for (int t = 0; t < frames; t++)
        {
            var pair = (t == 0 ? new double[c * h * w] : ToChannelLast(x[t - 1], c, h, w)).Concat(ToChannelLast(x[t], c, h, w)).ToArray();
            using var xt = Tensor.FromDoubles(pair, DType.F32, new Shape(2, h, w, c), "xt");
            using var yt = Backends.Host.Allocate(DType.F32, new Shape(1, h, w, c), "yt");
            Conv3d.Run(xt, wt, bt, null, yt, timePad: 0);
            streamed.AddRange(yt.ToDoubles());
        }
        Assert.That(Rel(expected, streamed.ToArray()), Is.LessThan(1e-6), "frame by frame, the past frame prepended");
    }

    /// <summary>
    /// taehv.py's decoder on [C, F, H, W] latents, all frames through each module in turn (its
    /// apply_model_with_memblocks_parallel): RGB [F', 8H, 8W, 3] after the clamp and the trim.
    /// </summary>
    private static float[] Oracle(TaehvWeights wt, float[] latents, int frames, int channels, int height, int width, out int count, out int outH, out int outW)
    {
        var f = wt.Config.Features;
        int h = height, w = width, c = channels, plane = h * w;
        var x = new List<double[]>();
        for (int t = 0; t < frames; t++)
        {
            var frame = new double[c * plane];
            for (int ci = 0; ci < c; ci++)
            {
                for (int p = 0; p < plane; p++)
                {
                    frame[(ci * plane) + p] = Math.Tanh(latents[(((ci * frames) + t) * plane) + p] / 3.0) * 3;
                }
            }
            x.Add(frame);
        }
        x = x.Select(v => Relu(Conv2d(v, c, h, w, D(wt, "decoder.1.weight"), D(wt, "decoder.1.bias"), f[0], 3))).ToList();
        c = f[0];
        for (int s = 0; s < 3; s++)
        {
            for (int k = 0; k < 3; k++)
            {
                x = MemBlock(wt, 3 + (6 * s) + k, x, c, h, w);
            }
            x = x.Select(v => Upsample(v, c, h, w)).ToList();
            h *= 2;
            w *= 2;
            int stride = TaehvConfig.TimeStrides[s];
            var grown = new List<double[]>();
            foreach (var v in x)
            {
                var g = Conv2d(v, c, h, w, D(wt, $"decoder.{7 + (6 * s)}.conv.weight"), null, c * stride, 1);
                for (int j = 0; j < stride; j++)
                {
                    grown.Add(g[(j * c * h * w)..((j + 1) * c * h * w)]);
                }
            }
            x = grown.Select(v => Conv2d(v, c, h, w, D(wt, $"decoder.{8 + (6 * s)}.weight"), null, f[s + 1], 3)).ToList();
            c = f[s + 1];
        }
        x = x.Select(v => Conv2d(Relu(v), c, h, w, D(wt, "decoder.22.weight"), D(wt, "decoder.22.bias"), 3, 3)).ToList();
        var kept = x.Skip(TaehvConfig.FramesToTrim).ToList();
        (count, outH, outW) = (kept.Count, h, w);
        return kept.SelectMany(v => ToChannelLast(v, 3, h, w)).Select(v => (float)Math.Clamp(v, 0, 1)).ToArray();
    }

    /// <summary>MemBlock <paramref name="index"/> over a clip: ReLU(conv(cat([x_t, past_t])) + x_t), past_0 = 0.</summary>
    private static List<double[]> MemBlock(TaehvWeights wt, int index, List<double[]> x, int c, int h, int w)
    {
        var result = new List<double[]>();
        for (int t = 0; t < x.Count; t++)
        {
            var past = t == 0 ? new double[x[t].Length] : x[t - 1];
            var y = Relu(Conv2d(x[t].Concat(past).ToArray(), 2 * c, h, w, D(wt, $"decoder.{index}.conv.0.weight"), D(wt, $"decoder.{index}.conv.0.bias"), c, 3));
            y = Relu(Conv2d(y, c, h, w, D(wt, $"decoder.{index}.conv.2.weight"), D(wt, $"decoder.{index}.conv.2.bias"), c, 3));
            y = Conv2d(y, c, h, w, D(wt, $"decoder.{index}.conv.4.weight"), D(wt, $"decoder.{index}.conv.4.bias"), c, 3);
            result.Add(Relu(y.Zip(x[t], (a, b) => a + b).ToArray()));
        }
        return result;
    }

    /// <summary>nn.Conv2d(cin, cout, k, padding=k/2) on one [cin, h, w] frame, weight [cout, cin, k, k].</summary>
    private static double[] Conv2d(double[] x, int cin, int h, int w, double[] weight, double[]? bias, int cout, int k)
    {
        var y = new double[cout * h * w];
        for (int o = 0; o < cout; o++)
        {
            for (int r = 0; r < h; r++)
            {
                for (int q = 0; q < w; q++)
                {
                    double acc = bias?[o] ?? 0;
                    for (int i = 0; i < cin; i++)
                    {
                        for (int dy = 0; dy < k; dy++)
                        {
                            for (int dx = 0; dx < k; dx++)
                            {
                                int yy = r + dy - (k / 2), xx = q + dx - (k / 2);
                                if (yy >= 0 && yy < h && xx >= 0 && xx < w)
                                {
                                    acc += weight[(((o * cin) + i) * k + dy) * k + dx] * x[(((i * h) + yy) * w) + xx];
                                }
                            }
                        }
                    }
                    y[(((o * h) + r) * w) + q] = acc;
                }
            }
        }
        return y;
    }

    /// <summary>nn.Upsample(scale_factor=2) (nearest) on one [c, h, w] frame.</summary>
    private static double[] Upsample(double[] x, int c, int h, int w)
    {
        var y = new double[c * 4 * h * w];
        for (int i = 0; i < c; i++)
        {
            for (int r = 0; r < 2 * h; r++)
            {
                for (int q = 0; q < 2 * w; q++)
                {
                    y[(((i * 2 * h) + r) * 2 * w) + q] = x[(((i * h) + (r / 2)) * w) + (q / 2)];
                }
            }
        }
        return y;
    }

    private static double[] ToChannelLast(double[] x, int c, int h, int w)
    {
        var y = new double[x.Length];
        for (int i = 0; i < c; i++)
        {
            for (int p = 0; p < h * w; p++)
            {
                y[(p * c) + i] = x[(i * h * w) + p];
            }
        }
        return y;
    }

    private static double[] Relu(double[] x) => x.Select(v => Math.Max(0, v)).ToArray();

    private static double[] D(TaehvWeights wt, string name) => wt[name].ToDoubles();

    private static double Rel(IReadOnlyList<double> expected, double[] actual) =>
        EngineTestKit.RelL2(expected.Select(v => (float)v).ToArray(), actual.Select(v => (float)v).ToArray());
}
