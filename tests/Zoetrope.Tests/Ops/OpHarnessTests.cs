using NUnit.Framework;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Checking;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Tests.Ops;

/// <summary>
/// Every registered op, every case of its table that <see cref="CaseSelection"/> gives a backend,
/// on ilgpu-cpu (and on the GPU backends where this machine has them), against the reference: the
/// same harness and selection as <c>zoe check</c>, one NUnit case per (op, case, backend) so a
/// failure names all three. The emulated backends are left to <c>zoe check --backend
/// cuda-emu,ilgpu-emu</c>: minutes of interpreter time that CI spends on a run of its own.
/// </summary>
public class OpHarnessTests
{
    private const int Seed = 20260101;

    public static IEnumerable<TestCaseData> Cases()
    {
        var backends = new List<BackendKind> { BackendKind.IlgpuCpu };
        backends.AddRange(new[] { BackendKind.IlgpuCuda, BackendKind.Cuda }.Where(k => Backends.Probe(k).Available));
        foreach (var op in OpCatalog.All.Where(o => !o.OpType.Namespace!.StartsWith("Zoetrope.Tests", StringComparison.Ordinal)))
        {
            foreach (var c in op.Cases())
            {
                foreach (var kind in backends.Where(k => op.Supports(k) && CaseSelection.Runs(c.Use, k)))
                {
                    yield return new TestCaseData(op.Name, c.Index, kind).SetName($"{op.Name} | {c.Label} | {kind.Label()}");
                }
            }
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void MatchesReference(string opName, int caseIndex, BackendKind backend)
    {
        var op = OpCatalog.Get(opName);
        var c = op.Cases()[caseIndex];
        var rows = OpChecker.CheckCase(op, c, [backend], Zoetrope.Runtime.Execution.InputFactory.StableSeed(Seed, op.Name, caseIndex));
        Assert.That(rows, Has.Count.EqualTo(1));
        var row = rows[0];
        TestContext.Out.WriteLine($"{row.Status} relL2={row.RelL2:g3} maxAbs={row.MaxAbs:g3} {row.Tolerance} {row.Message}");
        if (row.Status == CheckStatus.Skipped)
        {
            // Above this backend's size cap: the cap itself is what must hold.
            Assert.That(op.Caps.Allows(backend, c.Instance.Cost.Work), Is.False, row.Message);
            return;
        }
        Assert.That(row.Status, Is.EqualTo(CheckStatus.Pass), row.Message);
    }

    [Test]
    public void EveryOpHasCheckCasesAndRunsOnTheCpuBackends()
    {
        var ops = OpCatalog.All.Where(o => !o.OpType.Namespace!.StartsWith("Zoetrope.Tests", StringComparison.Ordinal)).ToList();
        Assert.That(ops.Select(o => o.Name), Is.SupersetOf(new[] { "axpby", "softmax" }));
        foreach (var op in ops)
        {
            Assert.That(op.Supports(BackendKind.Reference), Is.True, op.Name);
            Assert.That(op.Cases().Count(c => c.Use.HasFlag(CaseUse.Check) && op.Caps.Allows(BackendKind.IlgpuCpu, c.Instance.Cost.Work)),
                Is.GreaterThan(0), $"{op.Name} has no check case small enough for ilgpu-cpu");
        }
    }

    [Test]
    public void EveryOpHasEmulatorCasesTheEmulatedBackendsRun()
    {
        var ops = OpCatalog.All.Where(o => !o.OpType.Namespace!.StartsWith("Zoetrope.Tests", StringComparison.Ordinal)).ToList();
        foreach (var op in ops)
        {
            var emulator = op.Cases().Where(c => c.Use.HasFlag(CaseUse.Emulator)).ToList();
            // A few, at the kernels' edges; the attention ops served by several kernel families
            // (dense and Sage, mma.sync and sm_90a's tile shapes) need up to a dozen.
            Assert.That(emulator, Has.Count.InRange(2, 12), $"{op.Name}: a few Emulator cases, sized for the interpreter");
            foreach (var c in emulator)
            {
                foreach (var kind in new[] { BackendKind.CudaEmu, BackendKind.IlgpuEmu })
                {
                    Assert.That(op.Supports(kind), Is.True, $"{op.Name} on {kind.Label()}");
                    // A case above the cap would be skipped silently: the table must fit its own cases.
                    Assert.That(op.Caps.Allows(kind, c.Instance.Cost.Work), Is.True,
                        $"{op.Name} {c.Label}: work {c.Instance.Cost.Work:g3} above the {kind.Label()} cap {op.Caps.MaxWork(kind):g3}");
                }
                if (c.Use.HasFlag(CaseUse.Check))
                {
                    Assert.That(op.Caps.Allows(BackendKind.IlgpuCpu, c.Instance.Cost.Work), Is.True, $"{op.Name} {c.Label}: checked on ilgpu-cpu, so within its cap");
                }
            }
        }
    }

    [Test]
    public void EmulatedBackendsRunOnlyEmulatorCasesInTheReport()
    {
        // No emulated device is wired in yet; the rows still show the selection (unavailable rows for Emulator cases only).
        var report = OpChecker.Run(new CheckOptions { Ops = ["softmax"], Backends = [BackendKind.CudaEmu] });
        var op = OpCatalog.Get("softmax");
        var expected = op.Cases().Where(c => c.Use.HasFlag(CaseUse.Emulator)).Select(c => c.Label).ToList();
        Assert.That(report.Rows.Select(r => r.Case), Is.EqualTo(expected), report.ToText());
        Assert.That(report.Rows.Select(r => r.Backend), Is.All.EqualTo("cuda-emu"));
    }

    [Test]
    public void CheckReportCountsAndRendersRows()
    {
        var report = OpChecker.Run(new CheckOptions { Ops = ["axpby"], Backends = [BackendKind.IlgpuCpu] });
        Assert.That(report.Failed, Is.Zero, report.ToText());
        Assert.That(report.Passed, Is.GreaterThanOrEqualTo(12));
        Assert.That(report.ToText(), Does.Contain($"{report.Passed} passed, 0 failed"));
    }
}
