using NUnit.Framework;
using Zoetrope.Engine;
using Zoetrope.Engine.Decode;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Engine;

/// <summary>The stream suite's decode rows: both decoders on the blocks a session generated, timed, with their FLOP counts.</summary>
public class DecodeBenchTests
{
    // The row the device kit reads on a GPU, measured here on the micro model (the same code path):
    // one row per decoder, samples for every block after the first, TFLOP/s from the decoder's
    // own count, and the FPS of generation plus decoding in the label.
    [Test]
    public void EachDecoderGetsARowTimedOnTheClipsLaterBlocks()
    {
        var micro = DiTConfig.Micro;
        var random = new Random(7);
        var clip = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, micro.FrameLatents * 3).Select(_ => (float)random.NextDouble() - 0.5f).ToArray()).ToList();
        var rows = StreamBench.MeasureDecode(Backends.Get("reference"), micro, DType.F32, clip, 3, blockMs: 100);
        Assert.That(rows.Select(r => r.Shape.Split(" (")[0]),
            Is.EqualTo(StreamBench.Decoders.Select(d => StreamBench.DecodeLabel(micro, d, 3, DType.F32) is var l ? l.Split(" (")[0] : null)));
        foreach (var (row, kind) in rows.Zip(StreamBench.Decoders))
        {
            Assert.That(row.Op, Is.EqualTo("stream"));
            Assert.That(row.SamplesMs, Has.Count.EqualTo(2).And.All.GreaterThan(0), "the first block opens the clip untimed");
            Assert.That(row.Tflops, Is.EqualTo(StreamBench.DecodeFlops(micro, kind, 3) / (row.MedianMs * 1e9)).Within(1e-9));
            Assert.That(row.Shape, Does.Contain("12 frames 32x32").And.Contain("FPS with the DiT"));
        }
    }

    // The published decoders' counts at 480x832, the figures the closing notes quote: the Wan VAE
    // about 13.5 TFLOP per latent frame (3.4 per video frame), TAEHV about 0.13 TFLOP per video frame.
    [Test]
    public void TheWan13bBlocksCountThePublishedDecodersWork()
    {
        double wan = StreamBench.DecodeFlops(DiTConfig.Wan1_3B, DecoderKind.Wan, 3);
        double tiny = StreamBench.DecodeFlops(DiTConfig.Wan1_3B, DecoderKind.Tiny, 3);
        Assert.That(wan / 12, Is.EqualTo(WanVaeConfig.Published.DecodeFlopsPerVideoFrame(480, 832)).Within(1e-6).Percent);
        Assert.That(wan / 12 / 1e12, Is.InRange(3.3, 3.5));
        Assert.That(tiny / 12 / 1e9, Is.InRange(125, 135));
    }
}
