using NUnit.Framework;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Checking;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Tests.Ops;

/// <summary>
/// Every registered op, every check case of its table, on every CPU backend (and on the GPU
/// backends where this machine has them), against the reference: the same harness as
/// <c>zoe check</c>, one NUnit case per (op, case, backend) so a failure names all three.
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
            foreach (var c in op.Cases().Where(c => c.Use.HasFlag(CaseUse.Check)))
            {
                foreach (var kind in backends.Where(op.Supports))
                {
                    yield return new TestCaseData(op.Name, c.Index, kind).SetName($"{op.Name} | {c.Instance.Label} | {kind.Label()}");
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
    public void CheckReportCountsAndRendersRows()
    {
        var report = OpChecker.Run(new CheckOptions { Ops = ["axpby"], Backends = [BackendKind.IlgpuCpu] });
        Assert.That(report.Failed, Is.Zero, report.ToText());
        Assert.That(report.Passed, Is.GreaterThanOrEqualTo(12));
        Assert.That(report.ToText(), Does.Contain($"{report.Passed} passed, 0 failed"));
    }
}
