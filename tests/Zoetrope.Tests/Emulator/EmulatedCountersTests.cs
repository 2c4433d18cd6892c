using NUnit.Framework;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Checking;
using Zoetrope.Runtime.Ops;
using Zoetrope.Runtime.Results;

namespace Zoetrope.Tests.Emulator;

/// <summary>
/// The emulated device's counters reach the user: <c>zoe check --stats</c> rows and <c>zoe bench</c>
/// rows on an emulated backend carry them (axpby: every global request perfectly coalesced, no
/// shared memory, bytes moved at least the cost model's).
/// </summary>
[NonParallelizable]
public class EmulatedCountersTests
{
    private static void RequireIlgpuEmu()
    {
        var probe = Backends.Probe(BackendKind.IlgpuEmu);
        if (!probe.Available)
        {
            Assert.Ignore($"ilgpu-emu is not available here: {probe.Reason}");
        }
    }

    [Test]
    public void CheckRowsOfAnEmulatedBackendCarryPerKernelCounters()
    {
        RequireIlgpuEmu();
        var report = OpChecker.Run(new CheckOptions { Backends = [BackendKind.IlgpuEmu], Ops = ["axpby"], EmulatorCounters = true });
        Assert.That(report.Rows, Is.Not.Empty);
        foreach (var row in report.Rows)
        {
            Assert.That(row.Status, Is.EqualTo(CheckStatus.Pass), row.Message);
            Assert.That(row.Emulated, Has.Count.EqualTo(1), "axpby is one ILGPU kernel");
            var k = row.Emulated[0];
            Assert.That(k.Launches, Is.EqualTo(1));
            Assert.That(k.WarpInstructions, Is.GreaterThan(0));
            Assert.That(k.Coalescing, Is.EqualTo(1.0).Within(0.02), "consecutive lanes read consecutive elements");
            Assert.That(k.SharedRequests, Is.Zero);
            Assert.That(k.BytesMoved, Is.GreaterThanOrEqualTo(row.ModelBytes), "sector granularity never moves less than the model's bytes");
        }
    }

    [Test]
    public void BenchOnAnEmulatedBackendRecordsCountersInsteadOfTimes()
    {
        RequireIlgpuEmu();
        var backend = Backends.Get(BackendKind.IlgpuEmu);
        var op = OpCatalog.Get("axpby");
        var row = op.Cases().First(c => c.Use.HasFlag(CaseUse.Emulator));
        var result = BenchRunner.MeasureCase(new BenchOptions { Backend = backend, Ops = ["axpby"] }, row);
        Assert.That(result.Emulated, Is.Not.Null);
        Assert.That(result.Iterations, Is.Zero);
        Assert.That(result.SamplesMs, Is.Empty, "no time is measured on the emulated device");
        Assert.That(result.Emulated!.WarpInstructions, Is.GreaterThan(0));
        Assert.That(result.Emulated.Kernels.Single().Launches, Is.EqualTo(1));
        Assert.That(result.Emulated.ModelBytes, Is.EqualTo(row.Instance.Cost.Bytes));
    }
}
