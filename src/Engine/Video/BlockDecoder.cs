// BlockDecoder: what a streaming caller does with each block as it lands: decode its latents
// (IVideoDecoder carries the clip's causal cache from block to block), time it, check the frame
// count against the stream's own (1 + 4(T-1) for the first block, 4T after: a decoder that breaks
// the contract is caught at the block that did, not as a wrong-length video), write it to the sink
// and keep DecodeMetrics.
using System.Diagnostics;
using Zoetrope.Engine.Decode;

namespace Zoetrope.Engine.Video;

/// <summary>Decodes a stream's blocks in order, timing them, and writes them to an optional <see cref="VideoSink"/>.</summary>
/// <param name="decoder">The decoder, at the start of a clip (or continuing the one these blocks belong to).</param>
/// <param name="sink">Where the frames go, or null to decode and time only.</param>
public sealed class BlockDecoder(IVideoDecoder decoder, VideoSink? sink = null)
{
    private readonly IVideoDecoder _decoder = decoder ?? throw new ArgumentNullException(nameof(decoder));

    /// <summary>Decode latency and frame rates so far.</summary>
    public DecodeMetrics Metrics { get; } = new();

    /// <summary>Decodes <paramref name="block"/> and writes its frames.</summary>
    /// <exception cref="ArgumentException">The block is not the next one the decoder expects (blocks go in order from the clip's first frame).</exception>
    /// <exception cref="ZoetropeVideoException">The decoder gave another number of frames than the block's, or the sink's ffmpeg failed.</exception>
    public DecodedBlock Decode(LatentBlock block)
    {
        ArgumentNullException.ThrowIfNull(block);
        if (block.FirstFrame != _decoder.FramesSeen)
        {
            throw new ArgumentException($"decoder {_decoder.Name}: block {block.Index} starts at latent frame {block.FirstFrame}, but the decoder has seen {_decoder.FramesSeen}: decode a clip's blocks in order from its first (or Reset for a new clip)");
        }
        long t0 = Stopwatch.GetTimestamp();
        var frames = _decoder.Decode(block.Latents, block.Frames);
        double decodeMs = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        if (frames.Count != block.VideoFrames)
        {
            throw new ZoetropeVideoException($"decoder {_decoder.Name}: block {block.Index} ({block.Frames} latent frames from frame {block.FirstFrame}) decoded to {frames.Count} video frames; the stream counts {block.VideoFrames} (1 + 4(T-1) for a clip's first block, 4T after)");
        }
        double writeMs = 0;
        if (sink is not null)
        {
            long w0 = Stopwatch.GetTimestamp();
            sink.Write(frames);
            writeMs = Stopwatch.GetElapsedTime(w0).TotalMilliseconds;
        }
        Metrics.Add(decodeMs, frames.Count, writeMs);
        return new DecodedBlock(block.Index, frames, decodeMs, writeMs);
    }
}
