// DecoderMemory: what a video decoder adds to a run's memory, worked out from its config, the
// latent size, the dtype and the block length alone (nothing is allocated), for the preflight
// (MemoryEstimate.Decoder). The device parts follow the buffers the decoders really allocate
// (WanVaeMemory, TaehvMemory walk their layers; a test holds them to the backend's own count):
//   weights   every conv/linear weight in the dtype, norm vectors, f32 biases;
//   caches    the per-layer frames a stream keeps (causal convs' Kt - 1 input frames, MemBlock
//             memories);
//   scratch   the working buffers at their peak over a clip's first and a steady block (Wan's
//             grow-only slots briefly hold a grown slot's old storage too);
// and the host's:
//   staging   one block's latents packed in the dtype, its frames read back (the packed bytes
//             and the float frames), and on the reference backend the largest op's operands as
//             f64 (OpTensors), with MemoryEstimate.ManagedSlack for the GC's late return;
//   opening   the host weights (f32 when drawn; at most that from a file) and the largest
//             weight's f64 permute and packed copies while the decoder is built.
namespace Zoetrope.Engine.Decode;

/// <summary>A video decoder's memory at its peak, by part (bytes).</summary>
/// <param name="Decoder">"wan" or "tiny".</param>
/// <param name="Weights">Weights as held on the backend (dtype, f32 biases).</param>
/// <param name="Caches">Per-layer caches on the backend.</param>
/// <param name="Scratch">Working buffers on the backend at their peak.</param>
/// <param name="HostStaging">Host bytes while a block decodes (latents in, frames out, reference ops' f64 operands).</param>
/// <param name="HostOpening">Host bytes while the decoder is built (host weights and their conversions), gone once it is.</param>
internal sealed record DecoderMemory(string Decoder, long Weights, long Caches, long Scratch, long HostStaging, long HostOpening)
{
    /// <summary>Everything on the backend at the decoder's peak.</summary>
    public long DeviceBytes => Weights + Caches + Scratch;

    /// <summary>The host's transient peak: building or decoding, whichever is more (they never overlap).</summary>
    public long HostTransient => Math.Max(HostStaging, HostOpening);

    /// <summary>
    /// The decoder <see cref="VideoDecoders.Open"/> makes for <paramref name="dit"/>'s latents
    /// (<see cref="WanVaeConfig.For"/>, <see cref="TaehvConfig.For"/>) in <paramref name="dtype"/>
    /// on <paramref name="backend"/>, decoding blocks of <paramref name="blockFrames"/> latent frames.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a <see cref="DecoderKind"/>, or fewer than one frame per block.</exception>
    public static DecoderMemory For(DecoderKind kind, DiTConfig dit, DType dtype, int blockFrames, BackendKind backend)
    {
        ArgumentNullException.ThrowIfNull(dit);
        return kind switch
        {
            DecoderKind.Wan => ForWan(WanVaeConfig.For(dit), dit.LatentHeight, dit.LatentWidth, dtype, blockFrames, backend),
            DecoderKind.Tiny => ForTiny(TaehvConfig.For(dit), dit.LatentHeight, dit.LatentWidth, dtype, blockFrames, backend),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a decoder kind"),
        };
    }

    /// <summary>A <see cref="WanVaeDecoder"/> of <paramref name="config"/> for <paramref name="latentHeight"/> x <paramref name="latentWidth"/> latents.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A non-positive size or block length.</exception>
    public static DecoderMemory ForWan(WanVaeConfig config, int latentHeight, int latentWidth, DType dtype, int blockFrames, BackendKind backend)
    {
        ArgumentNullException.ThrowIfNull(config);
        CheckSizes(latentHeight, latentWidth, blockFrames);
        var t = WanVaeMemory.Walk(config, latentHeight, latentWidth, dtype, blockFrames);
        long hostWeights = config.ExpectedKeys().Sum(k => k.Shape.ElementCount);
        return Of("wan", t, config.ZDim, latentHeight, latentWidth, blockFrames, config.TemporalScale * blockFrames, config.SpatialScale, hostWeights, backend);
    }

    /// <summary>A <see cref="TaehvDecoder"/> of <paramref name="config"/> for <paramref name="latentHeight"/> x <paramref name="latentWidth"/> latents.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A non-positive size or block length.</exception>
    public static DecoderMemory ForTiny(TaehvConfig config, int latentHeight, int latentWidth, DType dtype, int blockFrames, BackendKind backend)
    {
        ArgumentNullException.ThrowIfNull(config);
        CheckSizes(latentHeight, latentWidth, blockFrames);
        var t = TaehvMemory.Walk(config, latentHeight, latentWidth, dtype, blockFrames);
        long hostWeights = TaehvWeights.Expected(config).Sum(k => k.Shape.ElementCount);
        return Of("tiny", t, config.LatentChannels, latentHeight, latentWidth, blockFrames, TaehvConfig.TemporalScale * blockFrames, TaehvConfig.SpatialScale, hostWeights, backend);
    }

    /// <summary>"weights X, caches Y, scratch Z, host staging W" for the estimate line.</summary>
    public string Describe(Func<long, string> bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return $"weights {bytes(Weights)}, caches {bytes(Caches)}, scratch {bytes(Scratch)}, host staging {bytes(HostTransient)}";
    }

    private static void CheckSizes(int latentHeight, int latentWidth, int blockFrames)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(latentHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(latentWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockFrames, 1);
    }

    private static DecoderMemory Of(string name, DecoderMemoryTally t, long channels, int h, int w, int frames, int videoFrames, int scale, long hostWeights, BackendKind backend)
    {
        long s = t.Size;
        // One block: its latents packed in the dtype; its frames read back (f32 straight into the
        // floats, narrower dtypes as packed bytes, then floats); the reference's f64 operands.
        long pixels = (long)videoFrames * h * scale * w * scale * 3;
        long readBack = (pixels * 4) + (s == 4 ? 0 : pixels * s);
        long ops = backend == BackendKind.Reference ? (long)(t.LargestOp * (8 + s) * MemoryEstimate.ManagedSlack) : 0;
        long staging = ((long)frames * h * w * channels * s) + readBack + ops;
        // Building: the host weights, and the largest weight read as f64, permuted in f64, packed and copied.
        long opening = (hostWeights * 4) + (long)(t.LargestWeight * (8 + 8 + (2 * s)) * MemoryEstimate.ManagedSlack);
        return new DecoderMemory(name, t.Weights, t.Caches, t.ScratchPeak, staging, opening);
    }
}
