using NUnit.Framework;
using Zoetrope.Emulator.Exec;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;
using Zoetrope.Runtime.Results;

namespace Zoetrope.Tests.Emulator;

/// <summary>
/// A sampling device (EmuDevice.SampleCtas, `zoe bench --sample-ctas`): it runs one CTA per stride
/// of the grid and scales the counters to the whole grid, so a uniform kernel's counts equal the
/// full run's, and only the sampled CTAs write.
/// </summary>
[TestFixture]
public sealed class InterpreterSamplingTests
{
    // out[ctaid * 64 + tid] = ctaid + 1: the same instructions and one coalesced store per warp in every CTA.
    private const string PerCta = @"
.visible .entry per_cta(.param .u64 out)
{
    .reg .b32 %r<6>;
    .reg .b64 %rd<4>;
    ld.param.u64 %rd1, [out];
    cvta.to.global.u64 %rd1, %rd1;
    mov.u32 %r1, %ctaid.x;
    mov.u32 %r2, %tid.x;
    mad.lo.s32 %r3, %r1, 64, %r2;
    add.s32 %r4, %r1, 1;
    mul.wide.u32 %rd2, %r3, 4;
    add.s64 %rd3, %rd1, %rd2;
    st.global.u32 [%rd3], %r4;
    ret;
}";

    [Test]
    public void ASampledLaunchScalesAUniformKernelsCountsToTheFullRunsAndRunsOneCtaPerStride()
    {
        using var h = new EmuHarness();
        var f = h.Load(PerCta, "per_cta");
        ulong full = h.Alloc<int>(64 * 64), sampled = h.Alloc<int>(64 * 64);
        var all = h.Launch(f, 64, 64, full);
        h.Device.SampleCtas = 8;
        var some = h.Launch(f, 64, 64, sampled);

        Assert.That(all.SampledCtas, Is.Zero, "every CTA ran");
        Assert.That(some.SampledCtas, Is.EqualTo(8));
        Assert.That(some.Ctas, Is.EqualTo(64), "counts stand for the whole grid");
        Assert.That(some.TotalInstructions, Is.EqualTo(all.TotalInstructions));
        Assert.That(some.GlobalStoreSectors, Is.EqualTo(all.GlobalStoreSectors));
        Assert.That(some.GlobalStoreRequests, Is.EqualTo(all.GlobalStoreRequests));
        Assert.That(some.Threads, Is.EqualTo(all.Threads));

        var o = h.Download<int>(sampled, 64 * 64);
        for (int stride = 0; stride < 8; stride++)
        {
            var ran = Enumerable.Range(stride * 8, 8).Where(c => o[c * 64] == c + 1).ToArray();
            Assert.That(ran, Has.Length.EqualTo(1), $"one CTA of stride {stride} ran");
            Assert.That(Enumerable.Range(0, 64).All(t => o[ran[0] * 64 + t] == ran[0] + 1), Is.True, "the sampled CTA ran whole");
        }
        Assert.That(o.Count(v => v != 0), Is.EqualTo(8 * 64), "the other CTAs did not run");
    }

    [Test]
    public void TheSampleIsFixedAscendingInsideItsStridesAndNotOneRowOfAGrid()
    {
        var a = Interpreter.Sample(8192, 8);
        Assert.That(Interpreter.Sample(8192, 8), Is.EqualTo(a), "the same launch samples the same CTAs");
        for (int s = 0; s < 8; s++)
        {
            Assert.That(a[s], Is.InRange(s * 1024L, s * 1024L + 1023));
        }
        // A 64 x 32 x 4 attention grid: a stride of 1024 CTAs is 16 whole x rows; the picks must
        // not all be the same query block.
        Assert.That(a.Select(c => c % 64).Distinct().Count(), Is.GreaterThan(1));
        Assert.That(Interpreter.Sample(3, 3), Is.EqualTo(new long[] { 0, 1, 2 }));
    }

    [Test]
    public void BenchWithSampledCtasScalesARowsCountersToItsGridAndSaysSo()
    {
        var probe = Backends.Probe(BackendKind.IlgpuEmu);
        if (!probe.Available)
        {
            Assert.Ignore($"ilgpu-emu is not available here: {probe.Reason}");
        }
        var backend = Backends.Get(BackendKind.IlgpuEmu);
        var op = OpCatalog.Get("softmax");  // a CTA per row: alike CTAs, grids of many
        var options = new BenchOptions { Backend = backend, Ops = ["softmax"] };
        // The first row the emulated device may run whose grid has at least 8 CTAs.
        var (row, whole) = op.Cases()
            .Where(c => op.Caps.Allows(BackendKind.IlgpuEmu, c.Instance.Cost.Work))
            .Select(c => (Row: c, Result: BenchRunner.MeasureCase(options, c)))
            .First(x => x.Result.Emulated!.Kernels.Single().Ctas >= 8);
        var k = whole.Emulated!.Kernels.Single();
        var part = BenchRunner.MeasureCase(new BenchOptions { Backend = backend, Ops = ["softmax"], SampleCtas = 4 }, row);
        Assert.That(part.Emulated!.SampledCtas, Is.EqualTo(4));
        Assert.That(part.Emulated.Kernels.Single().Ctas, Is.EqualTo(k.Ctas));
        // The rows' CTAs are alike (a partial last one at most): the scaled count is within two CTAs' share.
        Assert.That(part.Emulated.WarpInstructions, Is.EqualTo(whole.Emulated.WarpInstructions).Within((long)(whole.Emulated.WarpInstructions * 2.0 / k.Ctas) + 1));
        Assert.That(part.Emulated.Predicted, Is.Not.Empty);
    }
}
