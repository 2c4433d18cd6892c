// TaehvMemory: TaehvDecoder's memory, walked the way it builds and runs: every conv3d weight in
// the dtype (MemBlock's first conv has two time taps; each stage's TGrow is folded into its 3x3,
// stride x the output channels) with its f32 bias, each MemBlock's one-frame memory, and
// TaehvBuffers for a block (all allocated together and kept while blocks keep their length).
namespace Zoetrope.Engine.Decode;

/// <summary>The TAEHV decoder's bytes for a latent size, dtype and block length.</summary>
internal static class TaehvMemory
{
    public static DecoderMemoryTally Walk(TaehvConfig config, int h, int w, DType dtype, int blockFrames)
    {
        config.Validate();
        var t = new DecoderMemoryTally(dtype);
        var nf = config.Features;
        long z = config.LatentChannels, px = (long)h * w, frames = blockFrames;
        t.Weight(9 * z * nf[0], nf[0]);
        for (int s = 0; s < 3; s++)
        {
            long c = nf[s], p = px << (2 * s);
            for (int k = 0; k < TaehvConfig.MemBlocksPerStage; k++)
            {
                t.Weight(2 * 9 * c * c, c);
                t.Weight(9 * c * c, c);
                t.Weight(9 * c * c, c);
                t.Cache(p * c);
            }
            t.Weight(TaehvConfig.TimeStrides[s] * nf[s + 1] * 9 * c);
        }
        t.Weight(9 * nf[3] * 3, 3);

        // TaehvBuffers, and Decode's ops over them.
        t.Take("input", frames * px * z);
        t.Op((frames * px * z) + (9 * z * nf[0]), frames * px * nf[0]);
        long f = frames;
        for (int s = 0; s < 3; s++)
        {
            long c = nf[s], p = px << (2 * s);
            for (int k = 0; k < TaehvConfig.MemBlocksPerStage; k++)
            {
                t.Take($"stage{s}.in{k}", (f + 1) * p * c);
            }
            t.Take($"stage{s}.hidden1", f * p * c);
            t.Take($"stage{s}.hidden2", f * p * c);
            t.Take($"stage{s}.out", f * p * c);
            t.Op(((f + 1) * p * c) + (18 * c * c), f * p * c);
            t.Op((2 * f * p * c) + (9 * c * c), f * p * c);
            int stride = TaehvConfig.TimeStrides[s];
            t.Op((f * p * c) + (stride * nf[s + 1] * 9 * c), stride * f * 4 * p * nf[s + 1]);
            f *= stride;
        }
        long video = px * TaehvConfig.SpatialScale * TaehvConfig.SpatialScale;
        t.Take("last", f * video * nf[3]);
        t.Take("rgb", f * video * 3);
        t.Op((f * video * nf[3]) + (27 * nf[3]), f * video * 3);
        return t;
    }
}
