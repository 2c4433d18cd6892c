// WanVaeMemory: WanVaeDecoder's memory, walked layer by layer the way the decoder builds and runs
// (WanVaeDecoder, WanVaeConv, the three block kinds): every weight in the dtype with its f32 bias,
// every causal conv's Kt - 1 cached input frames, and the scratch slots taken in the order Decode
// takes them, over a clip's first block (the upsample3d's first frame skips time_conv, so fewer
// frames) and then a steady one (more frames: the slots grow once more), which is the peak.
namespace Zoetrope.Engine.Decode;

/// <summary>The Wan VAE decoder's bytes for a latent size, dtype and block length.</summary>
internal static class WanVaeMemory
{
    public static DecoderMemoryTally Walk(WanVaeConfig config, int h, int w, DType dtype, int blockFrames)
    {
        config.Validate();
        var t = new DecoderMemoryTally(dtype);
        var dims = config.Dims;
        int z = config.ZDim, s = config.SpatialScale;
        // Construction, in WanVaeDecoder's order.
        Conv(t, z, z, 1, 1, h, w);
        Conv(t, dims[0], z, 3, 9, h, w);
        foreach (var b in config.Blocks)
        {
            int bh = h * b.Scale, bw = w * b.Scale;
            switch (b.Kind)
            {
                case WanVaeBlockKind.Residual:
                    t.Weight(b.InDim);
                    t.Weight(b.OutDim);
                    Conv(t, b.OutDim, b.InDim, 3, 9, bh, bw);
                    Conv(t, b.OutDim, b.OutDim, 3, 9, bh, bw);
                    if (b.InDim != b.OutDim)
                    {
                        Conv(t, b.OutDim, b.InDim, 1, 1, bh, bw);
                    }
                    break;
                case WanVaeBlockKind.Attention:
                    long c = b.InDim;
                    t.Weight(c);
                    t.Weight(c * c, c);
                    t.Weight(c * c, c);
                    t.Weight(c * c);
                    Conv(t, b.InDim, b.InDim, 1, 1, bh, bw);
                    break;
                default:
                    Conv(t, b.OutDim, b.InDim, 1, 9, bh, bw);
                    if (b.Kind == WanVaeBlockKind.Upsample3d)
                    {
                        Conv(t, 2 * b.InDim, b.InDim, 3, 1, bh, bw);
                    }
                    break;
            }
        }
        t.Weight(config.HeadDim);
        Conv(t, 3, config.HeadDim, 3, 9, h * s, w * s);
        // A clip's first block, then a steady one.
        Decode(t, config, h, w, blockFrames, first: true);
        Decode(t, config, h, w, blockFrames, first: false);
        return t;
    }

    // A WanVaeConv: weight [Cout, Kt, taps, Cin] in the dtype, f32 bias, Kt - 1 cached input frames.
    private static void Conv(DecoderMemoryTally t, long cout, long cin, int kt, int taps, long h, long w)
    {
        t.Weight(cout * kt * taps * cin, cout);
        if (kt > 1)
        {
            t.Cache((kt - 1) * h * w * cin);
        }
    }

    // The slots one Decode call takes, and its ops' operands, in its order.
    private static void Decode(DecoderMemoryTally t, WanVaeConfig config, int h, int w, long frames, bool first)
    {
        var dims = config.Dims;
        long z = config.ZDim, px = (long)h * w;
        t.Take("lat", frames * px * z);
        t.Take("win", (2 + frames) * px * z);
        t.Op((frames * px * z) + (z * z), frames * px * z);
        t.Take("x0", frames * px * dims[0]);
        t.Op(((2 + frames) * px * z) + (27L * z * dims[0]), frames * px * dims[0]);
        int slot = 0;
        long f = frames;
        foreach (var b in config.Blocks)
        {
            slot ^= 1;
            string outSlot = slot == 0 ? "x0" : "x1";
            long p = px * b.Scale * b.Scale, cin = b.InDim, cout = b.OutDim;
            switch (b.Kind)
            {
                case WanVaeBlockKind.Residual:
                    t.Take("win", (2 + f) * p * cin);
                    t.Op(f * p * cin, f * p * cin);
                    t.Take("mid", f * p * cout);
                    t.Op(((2 + f) * p * cin) + (27 * cout * cin), f * p * cout);
                    if (cin != cout)
                    {
                        t.Take("short", f * p * cout);
                        t.Op((f * p * cin) + (cout * cin), f * p * cout);
                    }
                    t.Take("win", (2 + f) * p * cout);
                    t.Op(f * p * cout, f * p * cout);
                    t.Take(outSlot, f * p * cout);
                    t.Op(((2 + f) * p * cout) + (27 * cout * cout) + (f * p * cout), f * p * cout);
                    break;
                case WanVaeBlockKind.Attention:
                    t.Take("xn", f * p * cin);
                    t.Op(f * p * cin, f * p * cin);
                    t.Take("q", f * p * cin);
                    t.Take("k", f * p * cin);
                    t.Op((f * p * cin) + (cin * cin), f * p * cin);
                    t.Take("s", p * p);
                    t.Take("p", p * p);
                    t.Take("vt", cin * p);
                    t.Take("o", f * p * cin);
                    t.Op(2 * p * cin, p * p);
                    t.Op(p * p, p * p);
                    t.Op((p * p) + (p * cin), p * cin);
                    t.Take(outSlot, f * p * cin);
                    t.Op((2 * f * p * cin) + (cin * cin), f * p * cin);
                    break;
                default:
                    long spatialFrames = f;
                    if (b.Kind == WanVaeBlockKind.Upsample3d && f > 0)
                    {
                        long firstFrame = first ? 1 : 0, doubled = f - firstFrame;
                        spatialFrames = firstFrame + (2 * doubled);
                        t.Take("sp", spatialFrames * p * cin);
                        if (doubled > 0)
                        {
                            t.Take("win", (2 + doubled) * p * cin);
                            t.Op(((2 + doubled) * p * cin) + (6 * cin * cin), 2 * doubled * p * cin);
                        }
                    }
                    t.Take(outSlot, spatialFrames * 4 * p * cout);
                    t.Op((spatialFrames * p * cin) + (9 * cout * cin), spatialFrames * 4 * p * cout);
                    f = spatialFrames;
                    break;
            }
        }
        long video = px * config.SpatialScale * config.SpatialScale, head = config.HeadDim;
        t.Take("win", (2 + f) * video * head);
        t.Op(f * video * head, f * video * head);
        t.Take("rgb", f * video * 3);
        t.Op(((2 + f) * video * head) + (27 * 3 * head), f * video * 3);
        t.Release();
    }
}
