using NUnit.Framework;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Checking;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Tests.Ops;

/// <summary>
/// The harness is only worth what it catches: deliberately broken implementations (built as
/// OpInfo by hand, so they never enter the catalog) must fail for the right reason.
/// </summary>
public class HarnessCatchesBugsTests
{
    public readonly record struct P(DType DType, long N) : IOpParams
    {
        public string Label => $"{DType.Name()} n={N}";
    }

    private static OpInfo<P> MakeOp(string name, DType dtype, Action<P, double[], double[]> backendMath, bool exact = false)
    {
        OpImpl<P> reference = (b, p, t) =>
        {
            var x = t.Read("x");
            t.Write("y", x.Select(v => exact ? -1.0 : 2 * v).ToArray());
        };
        // The "kernel" works on the device tensors through host copies: enough to model bugs.
        OpImpl<P> broken = (b, p, t) =>
        {
            var x = t.Read("x");
            var y = t["y"].ToDoubles();
            backendMath(p, x, y);
            t.Write("y", y);
        };
        return new OpInfo<P>(
            name, "test op", typeof(HarnessCatchesBugsTests),
            p => new OpSignature().In("x", p.DType, new Shape(p.N)).Out("y", exact ? DType.I8 : p.DType, new Shape(p.N)),
            p => new OpCost(p.N, p.N),
            _ => throw new ArgumentException("not bindable"),
            OpAttributes.None,
            _ => new OpAttributeValues(),
            Impls(reference, broken),
            () => new OpCaseTable<P> { Cases = [new OpCase<P>(new P(dtype, 37))], Tolerances = ToleranceTable.Rounding },
            []);
    }

    // One slot per backend kind (the emulated ones included), the reference and ilgpu-cpu filled.
    private static OpImpl<P>?[] Impls(OpImpl<P> reference, OpImpl<P> ilgpuCpu)
    {
        var impls = new OpImpl<P>?[BackendKinds.All.Count];
        impls[(int)BackendKind.Reference] = reference;
        impls[(int)BackendKind.IlgpuCpu] = ilgpuCpu;
        return impls;
    }

    private static CheckRow CheckOnIlgpuCpu(OpInfo<P> op)
    {
        var rows = OpChecker.CheckCase(op, op.Cases()[0], [BackendKind.IlgpuCpu], 7);
        Assert.That(rows, Has.Count.EqualTo(1));
        TestContext.Out.WriteLine($"{rows[0].Status}: {rows[0].Message}");
        return rows[0];
    }

    [Test]
    public void CorrectImplementationPasses()
    {
        var row = CheckOnIlgpuCpu(MakeOp("ok", DType.F32, (p, x, y) =>
        {
            for (int i = 0; i < y.Length; i++)
            {
                y[i] = 2 * x[i];
            }
        }));
        Assert.That(row.Status, Is.EqualTo(CheckStatus.Pass), row.Message);
    }

    [Test]
    public void UnwrittenFloatElementIsCaughtByThePoison()
    {
        var row = CheckOnIlgpuCpu(MakeOp("skips-last", DType.BF16, (p, x, y) =>
        {
            for (int i = 0; i < y.Length - 1; i++)
            {
                y[i] = 2 * x[i];
            }
        }));
        Assert.That(row.Status, Is.EqualTo(CheckStatus.Fail));
        Assert.That(row.Message, Does.Contain("element 36").And.Contain("unwritten"));
    }

    [Test]
    public void ErrorAboveToleranceFails()
    {
        var row = CheckOnIlgpuCpu(MakeOp("off-by-1pct", DType.F32, (p, x, y) =>
        {
            for (int i = 0; i < y.Length; i++)
            {
                y[i] = 2.02 * x[i];
            }
        }));
        Assert.That(row.Status, Is.EqualTo(CheckStatus.Fail));
        Assert.That(row.RelL2, Is.EqualTo(0.01).Within(1e-4));
        Assert.That(row.Message, Does.Contain("relL2"));
    }

    [Test]
    public void IntegerOutputThatMatchesTheFirstPoisonIsCaughtByTheSecond()
    {
        // The reference writes -1 everywhere: exactly what 0xFF reads as in i8. Writing nothing
        // passes the first run; the 0x5A re-run must catch it.
        var row = CheckOnIlgpuCpu(MakeOp("writes-nothing", DType.F32, (p, x, y) => { }, exact: true));
        Assert.That(row.Status, Is.EqualTo(CheckStatus.Fail));
        Assert.That(row.Message, Does.Contain("second poison").And.Contain("exact"));
    }

    [Test]
    public void NotSupportedFromAnImplementationIsReportedAsUnsupported()
    {
        var row = CheckOnIlgpuCpu(MakeOp("refuses", DType.F32, (p, x, y) => throw new NotSupportedException("n=37 is not a multiple of 64")));
        Assert.That(row.Status, Is.EqualTo(CheckStatus.Unsupported));
        Assert.That(row.Message, Does.Contain("multiple of 64"));
    }

    [Test]
    public void MissingBackendIsUnsupportedNotAFailure()
    {
        var op = MakeOp("cpu-only", DType.F32, (p, x, y) => { });
        var rows = OpChecker.CheckCase(op, op.Cases()[0], [BackendKind.IlgpuCuda], 7);
        Assert.That(rows.Single().Status, Is.EqualTo(CheckStatus.Unsupported));
    }

    [Test]
    public void UnavailableBackendSaysWhy()
    {
        var probe = Backends.Probe(BackendKind.Cuda);
        Assume.That(probe.Available, Is.False, "this machine has a GPU and the shim: nothing to report");
        var rows = OpChecker.CheckCase(Zoetrope.Runtime.Elementwise.Axpby.Info, Zoetrope.Runtime.Elementwise.Axpby.Info.Cases()[0], [BackendKind.Cuda], 7);
        Assert.That(rows.Single().Status, Is.EqualTo(CheckStatus.Unavailable));
        Assert.That(rows.Single().Message, Is.EqualTo(probe.Reason).And.Not.Empty);
    }

    [Test]
    public void ErrorMetricsAreTheDocumentedFormulas()
    {
        var m = ErrorMetrics.Compare([3, 4, 0], [3, 4.5, double.NaN]);
        Assert.That(m.FirstNonFinite, Is.EqualTo(2));
        Assert.That(m.MaxAbs, Is.EqualTo(0.5));
        Assert.That(m.MaxAbsIndex, Is.EqualTo(1));
        Assert.That(m.RelL2, Is.EqualTo(0.5 / 5).Within(1e-15));
        Assert.That(m.Mismatches, Is.EqualTo(2));
    }
}
