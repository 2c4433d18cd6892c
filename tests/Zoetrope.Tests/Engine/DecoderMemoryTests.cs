// DecoderMemory against what the decoders really allocate: on a backend of their own, the
// weights and caches after construction, and the peak after a clip's first block and a steady
// one (the Wan VAE's scratch grows between them), byte for byte; and the estimate in the
// preflight: counted on the right side (host or device), shown in the line, and refusing a run
// that fits without the decoder but not with it.
using NUnit.Framework;
using Zoetrope.Cli.Preflight;
using Zoetrope.Engine;
using Zoetrope.Engine.Decode;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Engine;

[TestFixture]
public sealed class DecoderMemoryTests
{
    private static readonly WanVaeConfig SmallWan = WanVaeConfig.Tiny with { Name = "wan-shaped-small", BaseDim = 4, NumResBlocks = 1 };

    [TestCase("tiny", 2, 3, "f32", 2)]
    [TestCase("tiny", 2, 3, "bf16", 3)]
    [TestCase("small", 3, 5, "f16", 1)]
    [TestCase("small", 3, 5, "f32", 3)]
    public void TheWanVaeEstimateIsWhatItAllocates(string which, int h, int w, string dtypeName, int blockFrames)
    {
        var config = which == "tiny" ? WanVaeConfig.Tiny : SmallWan;
        var dtype = DTypes.Parse(dtypeName);
        var estimate = DecoderMemory.ForWan(config, h, w, dtype, blockFrames, BackendKind.Reference);
        using var backend = Backends.Create(BackendKind.Reference);
        using var weights = WanVaeWeights.Random(config, seed: 2);
        using var decoder = new WanVaeDecoder(backend, weights, h, w, dtype);
        Assert.That(backend.LiveBytes, Is.EqualTo(estimate.Weights + estimate.Caches), "weights and caches, as built");
        decoder.Decode(WanVaeOracleTests.Latents(blockFrames, h, w, seed: 1), blockFrames);
        decoder.Decode(WanVaeOracleTests.Latents(blockFrames, h, w, seed: 2), blockFrames);
        TestContext.Out.WriteLine($"{config.Name} {h}x{w} {dtypeName} x{blockFrames}: estimated {estimate.DeviceBytes} B ({estimate.Describe(MemoryPreflight.Bytes)}), peak {backend.PeakBytes} B, scratch kept {decoder.ScratchBytes} B");
        Assert.That(backend.PeakBytes, Is.EqualTo(estimate.DeviceBytes), "the peak over a first and a steady block");
        Assert.That(decoder.ScratchBytes, Is.LessThanOrEqualTo(estimate.Scratch));
        Assert.That(backend.LiveBytes, Is.EqualTo(estimate.Weights + estimate.Caches + decoder.ScratchBytes), "nothing else is kept");
    }

    [TestCase(2, 3, "f32", 2)]
    [TestCase(3, 2, "bf16", 3)]
    [TestCase(2, 2, "f16", 1)]
    public void TheTaehvEstimateIsWhatItAllocates(int h, int w, string dtypeName, int blockFrames)
    {
        var dtype = DTypes.Parse(dtypeName);
        var estimate = DecoderMemory.ForTiny(TaehvConfig.Small, h, w, dtype, blockFrames, BackendKind.Reference);
        using var backend = Backends.Create(BackendKind.Reference);
        using var weights = TaehvWeights.Random(TaehvConfig.Small, seed: 2);
        using var decoder = TaehvDecoder.Create(backend, weights, dtype, h, w);
        Assert.That(backend.LiveBytes, Is.EqualTo(estimate.Weights + estimate.Caches), "weights and memories, as built");
        decoder.Decode(WanVaeOracleTests.Latents(blockFrames, h, w, seed: 1), blockFrames);
        decoder.Decode(WanVaeOracleTests.Latents(blockFrames, h, w, seed: 2), blockFrames);
        TestContext.Out.WriteLine($"taehv-small {h}x{w} {dtypeName} x{blockFrames}: estimated {estimate.DeviceBytes} B ({estimate.Describe(MemoryPreflight.Bytes)}), peak {backend.PeakBytes} B");
        Assert.That(backend.PeakBytes, Is.EqualTo(estimate.DeviceBytes));
        Assert.That(backend.LiveBytes, Is.EqualTo(estimate.DeviceBytes), "the block's buffers are kept for the next block");
    }

    [Test]
    public void TheWan13bFiguresAreStatedAndOrdered()
    {
        var dit = DiTConfig.Wan1_3B;
        var wan = DecoderMemory.For(DecoderKind.Wan, dit, DType.BF16, 3, BackendKind.Cuda);
        var tiny = DecoderMemory.For(DecoderKind.Tiny, dit, DType.BF16, 3, BackendKind.Cuda);
        TestContext.Out.WriteLine($"wan-1.3b {dit.LatentHeight * 8}x{dit.LatentWidth * 8}, 3-frame blocks, bf16, estimated: wan {MemoryPreflight.Bytes(wan.DeviceBytes)} on the device ({wan.Describe(MemoryPreflight.Bytes)}); tiny {MemoryPreflight.Bytes(tiny.DeviceBytes)} ({tiny.Describe(MemoryPreflight.Bytes)})");
        Assert.That((dit.LatentHeight, dit.LatentWidth), Is.EqualTo((60, 104)), "480x832 video");
        Assert.That(tiny.DeviceBytes, Is.LessThan(wan.DeviceBytes), "TAEHV is the small one");
        // The published Wan VAE decoder's weights: ~73 M parameters in bf16 (+ f32 biases).
        long parameters = WanVaeConfig.Published.ExpectedKeys().Sum(k => k.Shape.ElementCount);
        Assert.That(wan.Weights, Is.InRange(2 * parameters * 99 / 100, 2 * parameters * 101 / 100));
        var f32 = DecoderMemory.For(DecoderKind.Wan, dit, DType.F32, 3, BackendKind.Cuda);
        Assert.That(f32.DeviceBytes, Is.InRange(2 * wan.DeviceBytes * 99 / 100, 2 * wan.DeviceBytes), "f32 doubles all but the f32 biases");
        var reference = DecoderMemory.For(DecoderKind.Tiny, dit, DType.BF16, 3, BackendKind.Reference);
        Assert.That(reference.HostStaging, Is.GreaterThan(tiny.HostStaging), "the reference reads its operands as f64");
    }

    [Test]
    public void ThePreflightCountsTheDecoder()
    {
        var dit = DiTConfig.Get("tiny");
        var options = new ModelOptions { Activations = DType.F32 };
        var plain = MemoryEstimate.For(dit, options, StreamOptions.LongLive, BackendKind.Reference);
        var decoder = DecoderMemory.For(DecoderKind.Wan, dit, DType.F32, StreamOptions.LongLive.BlockFrames, BackendKind.Reference);
        var with = plain with { Decoder = decoder };
        Assert.That(with.HostBytes, Is.EqualTo(plain.HostBytes + decoder.DeviceBytes + Math.Max(0, decoder.HostTransient - plain.HostTransient)), "CPU backend: the decoder's tensors are host memory");
        Assert.That(with.BackendTensorBytes, Is.EqualTo(plain.BackendTensorBytes + decoder.DeviceBytes));
        var limit = new MemoryLimit((plain.HostBytes + with.HostBytes) / 2, "set by the test", null, null);
        Assert.That(MemoryPreflight.Over(plain, limit), Is.Null, "fits without the decoder");
        Assert.That(MemoryPreflight.Over(with, limit), Does.Contain("decoder wan"), "not with it, and says so");
        Assert.That(MemoryPreflight.Line(with, limit), Does.Contain($"decoder wan {MemoryPreflight.Bytes(decoder.DeviceBytes + decoder.HostTransient)}"));

        var gpu = MemoryEstimate.For(DiTConfig.Wan1_3B, new ModelOptions { Activations = DType.BF16 }, StreamOptions.LongLive, BackendKind.Cuda);
        var tiny = DecoderMemory.For(DecoderKind.Tiny, DiTConfig.Wan1_3B, DType.BF16, 3, BackendKind.Cuda);
        var gpuWith = gpu with { Decoder = tiny };
        Assert.That(gpuWith.DeviceBytes, Is.EqualTo(gpu.DeviceBytes + tiny.DeviceBytes), "GPU backend: the decoder's tensors are device memory");
        var device = new MemoryLimit(1L << 40, "test", gpu.DeviceBytes + 1, "test");
        Assert.That(MemoryPreflight.Over(gpuWith, device), Does.Contain("of GPU memory").And.Contain("decoder tiny"));
    }
}
