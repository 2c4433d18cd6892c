using NUnit.Framework;
using Zoetrope.Engine;
using Zoetrope.Engine.Decode;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Engine;

/// <summary>
/// Both decoders on the emulated CUDA device (the hand-written conv3d, channel_rms_norm, linear and
/// softmax kernels, as a GPU runs them) against the reference backend, and split against whole
/// there too: the streaming caches hold on the kernels' path, not only on the oracle's.
/// Micro-sized (4x4 latents, 32x32 video): the interpreter takes seconds per block.
/// </summary>
public class DecodersOnEmulatorTests
{
    // f32 on the device: the SIMT conv path and f32 GEMMs, so the device and the oracle agree to
    // fp32 accumulation error. The device decodes the clip split [1, 1] (the second frame through
    // the caches), the reference whole: equal, so the device is right and its caches are too
    // (one device decode per test: the interpreter is the cost; the Wan VAE's f32 path takes
    // minutes there, so it runs in bf16 only, below).
    [Test]
    public void TheTinyDecoderOnTheDeviceSplitDecodesAsTheReferenceWholeInF32()
    {
        var emu = BackendsOrIgnore.Get(BackendKind.CudaEmu);
        var micro = DiTConfig.Micro;
        var latents = Latents(micro, 2, 11);
        var expected = Decode(Backends.Get("reference"), DecoderKind.Tiny, micro, DType.F32, latents, [2]);
        var split = Decode(emu, DecoderKind.Tiny, micro, DType.F32, latents, [1, 1]);
        Assert.That(split.Length, Is.EqualTo(5 * 32 * 32 * 3), "1 + 4 frames of 32x32 RGB");
        Assert.That(EngineTestKit.RelL2(expected, split), Is.LessThan(1e-5), "device (split) vs reference (whole)");
    }

    // bf16: the tensor-core implicit GEMM (cp.async gather where Cin % 8 == 0), the Wan VAE's
    // attention through linear and softmax, within bf16's error of the f32 oracle (bf16 against
    // f32 on the reference itself: 6.7e-3 for the Wan VAE, 2.9e-3 for TAEHV).
    [TestCase(DecoderKind.Tiny)]
    [TestCase(DecoderKind.Wan)]
    public void OnTheDeviceInBf16TheDecodersStayWithinBf16OfTheReference(DecoderKind kind)
    {
        var emu = BackendsOrIgnore.Get(BackendKind.CudaEmu);
        var micro = DiTConfig.Micro;
        var latents = Latents(micro, 2, 12);
        var expected = Decode(Backends.Get("reference"), kind, micro, DType.F32, latents, [2]);
        var actual = Decode(emu, kind, micro, DType.BF16, latents, [1, 1]);
        Assert.That(actual.Length, Is.EqualTo(expected.Length));
        Assert.That(EngineTestKit.RelL2(expected, actual), Is.LessThan(3e-2));
    }

    private static float[] Latents(DiTConfig c, int frames, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, c.FrameLatents * frames).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
    }

    // Decodes the clip in chunks of the given latent frames; the video of all chunks, concatenated.
    private static float[] Decode(Backend backend, DecoderKind kind, DiTConfig c, DType dtype, float[] latents, int[] chunks)
    {
        using var decoder = VideoDecoders.Open(kind, backend, c, dtype, null, 5);
        var video = new List<float>();
        int first = 0;
        int frames = chunks.Sum();
        foreach (int n in chunks)
        {
            video.AddRange(decoder.Decode(LatentFrames.Slice(c, latents, frames, first, n), n).Rgb);
            first += n;
        }
        return [.. video];
    }
}
