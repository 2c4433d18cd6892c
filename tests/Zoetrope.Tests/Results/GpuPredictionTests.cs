using NUnit.Framework;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Execution;
using Zoetrope.Runtime.Ops;
using Zoetrope.Runtime.Results;

namespace Zoetrope.Tests.Results;

/// <summary>
/// Predicted times from the emulated device's counters (issue 17): the roofline arithmetic on
/// hand-made counters, and a bench row of the emulated device carrying predictions for the GPUs.
/// </summary>
public class GpuPredictionTests
{
    private static readonly GpuSpec H100 = GpuSpec.Of("h100");

    private static EmulatorCounters Counters(long bytes = 0, long instr = 0, long tensorInstr = 0, long ctas = 1000, int launches = 1,
        Dictionary<string, long>? ops = null) => new()
    {
        Kernel = "k",
        Launches = launches,
        Ctas = ctas,
        BytesMoved = bytes,
        WarpInstructions = instr + tensorInstr,
        ByClass = new Dictionary<string, long> { ["tensor"] = tensorInstr },
        TensorOps = ops ?? new Dictionary<string, long>(),
    };

    [Test]
    public void AStreamingKernelIsBytesOverBandwidthPlusItsLaunch()
    {
        var p = BenchPrediction.For(H100, Counters(bytes: 3_350_000_000, instr: 1000));
        Assert.That(p.Bound, Is.EqualTo("memory"));
        Assert.That(p.MemoryMs, Is.EqualTo(1.0).Within(1e-9), "3.35 GB at 3350 GB/s");
        Assert.That(p.Ms, Is.EqualTo(1.0 + (BenchPrediction.LaunchUs / 1e3)).Within(1e-9));
    }

    [Test]
    public void TensorOpsRunAtTheMmaSyncShareOfTheirPrecisionsPeak()
    {
        // 1 POP of INT8 on an H100: 1e15 / (1978.9e12 * 2/3) s; the same count of f16 takes twice as long.
        var int8 = BenchPrediction.For(H100, Counters(tensorInstr: 10, ops: new() { ["int8"] = 1_000_000_000_000_000 }));
        var f16 = BenchPrediction.For(H100, Counters(tensorInstr: 10, ops: new() { ["f16"] = 1_000_000_000_000_000 }));
        Assert.That(int8.Bound, Is.EqualTo("tensor"));
        Assert.That(int8.TensorMs, Is.EqualTo(1e15 / (1978.9e12 * 2 / 3) * 1e3).Within(1e-6), "758 ms");
        Assert.That(f16.TensorMs / int8.TensorMs, Is.EqualTo(2.0).Within(1e-3));
    }

    [Test]
    public void WgmmaOpsRunAtTheFullPeakOfTheirPrecision()
    {
        // Hopper's wgmma is the path the datasheet peak is quoted for: 1 PFLOP of f16 through it takes
        // 1e15 / 989.4e12 s on an H100, two thirds of the same count through mma.sync; fp8 twice as fast.
        var wg = BenchPrediction.For(H100, Counters(tensorInstr: 10, ops: new() { ["f16wgmma"] = 1_000_000_000_000_000 }));
        var mma = BenchPrediction.For(H100, Counters(tensorInstr: 10, ops: new() { ["f16"] = 1_000_000_000_000_000 }));
        var fp8 = BenchPrediction.For(H100, Counters(tensorInstr: 10, ops: new() { ["fp8wgmma"] = 1_000_000_000_000_000 }));
        Assert.That(wg.TensorMs, Is.EqualTo(1e15 / 989.4e12 * 1e3).Within(1e-6));
        Assert.That(wg.TensorMs / mma.TensorMs, Is.EqualTo(2.0 / 3).Within(1e-9));
        Assert.That(wg.TensorMs / fp8.TensorMs, Is.EqualTo(2.0).Within(1e-3));
    }

    [Test]
    public void AGridSmallerThanTheGpuGetsOnlyItsShareOfIt()
    {
        var full = BenchPrediction.For(H100, Counters(bytes: 1_000_000_000, ctas: 132));
        var tenth = BenchPrediction.For(H100, Counters(bytes: 1_000_000_000, ctas: 13));
        Assert.That(tenth.MemoryMs / full.MemoryMs, Is.EqualTo(132.0 / 13).Within(1e-9));
        var launchBound = BenchPrediction.For(H100, Counters(bytes: 1024, instr: 100, ctas: 1, launches: 3));
        Assert.That(launchBound.Bound, Is.EqualTo("launch"));
        Assert.That(launchBound.LaunchMs, Is.EqualTo(3 * BenchPrediction.LaunchUs / 1e3).Within(1e-12));
    }

    [Test]
    public void ACaseIsItsKernelsInSequence()
    {
        var a = Counters(bytes: 3_350_000_000);
        var b = Counters(bytes: 6_700_000_000);
        var c = BenchPrediction.ForCase(H100, [a, b]);
        Assert.That(c.Kernel, Is.Null);
        Assert.That(c.Ms, Is.EqualTo(BenchPrediction.For(H100, a).Ms + BenchPrediction.For(H100, b).Ms).Within(1e-12));
        Assert.That(() => GpuSpec.Of("b200"), Throws.ArgumentException.With.Message.Contains("h100, h200"));
    }

    [Test]
    public void BytesReReadFromL2CostL2BandwidthAndOnlyTheModelsBytesComeFromDram()
    {
        // 11 GB moved, 1.675 GB of it compulsory (attention's K and V re-read per query block).
        var k = Counters(bytes: 11_000_000_000);
        var p = BenchPrediction.For(H100, k, dramBytes: 1_675_000_000);
        Assert.That(p.MemoryMs, Is.EqualTo(2.0).Within(1e-9), "11 GB over the assumed 5500 GB/s of L2 beats 1.675 GB over 3350 GB/s (0.5 ms)");
        var few = BenchPrediction.For(H100, Counters(bytes: 3_350_000_000), dramBytes: 3_350_000_000);
        Assert.That(few.MemoryMs, Is.EqualTo(1.0).Within(1e-9), "all of it from DRAM: the DRAM bound");

        // A case's model bytes are shared by the bytes each kernel moved, never above what it moved.
        var a = Counters(bytes: 1_000);
        var b = Counters(bytes: 3_000);
        Assert.That(BenchPrediction.DramShares([a, b], 2_000), Is.EqualTo(new double?[] { 500, 1_500 }));
        Assert.That(BenchPrediction.DramShares([a, b], 8_000), Is.EqualTo(new double?[] { 1_000, 3_000 }));
        Assert.That(BenchPrediction.DramShares([a, b], 0), Is.EqualTo(new double?[] { null, null }));
        var c = BenchPrediction.ForCase(H100, [a, b], 2_000);
        Assert.That(c.MemoryMs, Is.EqualTo(BenchPrediction.For(H100, a, 500).MemoryMs + BenchPrediction.For(H100, b, 1_500).MemoryMs).Within(1e-15));
    }

    [Test]
    public void AnEmulatedBenchRowCarriesPredictionsAndTensorOps()
    {
        var probe = Backends.Probe(BackendKind.CudaEmu);
        if (!probe.Available)
        {
            Assert.Ignore($"cuda-emu is not available here: {probe.Reason}");
        }
        var backend = Backends.Get(BackendKind.CudaEmu);
        var row = OpCatalog.Get("linear").Cases().First(c => c.Use.HasFlag(CaseUse.Emulator) && c.Instance.Label.Contains("bf16", StringComparison.Ordinal));
        var result = BenchRunner.MeasureCase(new BenchOptions { Backend = backend, Ops = ["linear"] }, row);
        var em = result.Emulated!;
        var mma = em.Kernels.Single(k => k.ByClass.GetValueOrDefault("tensor") > 0);
        // Every mma.sync of the bf16 GEMM is m16n8k16: 4096 operations per warp instruction.
        Assert.That(mma.TensorOps["f16"], Is.EqualTo(mma.ByClass["tensor"] * 4096));
        Assert.That(em.Predicted, Is.Not.Null);
        foreach (var gpu in GpuSpec.Known)
        {
            var whole = em.Predicted!.Single(p => p.Gpu == gpu.Key && p.Kernel is null);
            Assert.That(whole.Ms, Is.GreaterThan(0));
            Assert.That(em.Predicted!.Count(p => p.Gpu == gpu.Key && p.Kernel is not null), Is.EqualTo(em.Kernels.Count));
        }
    }
}
