using NUnit.Framework;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Checking;
using Zoetrope.Runtime.Execution;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Tests.Ops;

/// <summary>
/// Masked inputs: an op's contract says where an input may hold -inf (<see cref="InitSpec.Masking"/>),
/// a <see cref="CaseUse.Masked"/> case gets it there, and the harness compares NaN-aware. The
/// "kernels" below are hand-made OpInfos (never in the catalog) that model the bugs it must catch.
/// </summary>
public class MaskedInputTests
{
    public readonly record struct P(long Rows, long Cols) : IOpParams
    {
        public string Label => $"f32 [{Rows}, {Cols}]";
    }

    private static OpInfo<P> MakeOp(string name, bool maskable, Func<double, double> reference, Func<double, double> kernel, CaseUse use = CaseUse.Check | CaseUse.Masked)
    {
        OpImpl<P> Map(Func<double, double> f) => (b, p, t) => t.Write("y", t.Read("x").Select(f).ToArray());
        var impls = new OpImpl<P>?[BackendKinds.All.Count];
        impls[(int)BackendKind.Reference] = Map(reference);
        impls[(int)BackendKind.IlgpuCpu] = Map(kernel);
        return new OpInfo<P>(
            name, "test op", typeof(MaskedInputTests),
            p => new OpSignature()
                .In("x", DType.F32, new Shape(p.Rows, p.Cols), maskable ? InitSpec.Normal.WithMasking(NegInfPattern.Logits(p.Cols, fullyMaskedRows: true)) : InitSpec.Normal)
                .Out("y", DType.F32, new Shape(p.Rows, p.Cols)),
            p => new OpCost(p.Rows * p.Cols, p.Rows * p.Cols),
            _ => throw new ArgumentException("not bindable"),
            OpAttributes.None,
            _ => new OpAttributeValues(),
            impls,
            () => new OpCaseTable<P> { Cases = [new OpCase<P>(new P(4, 256), use)], Tolerances = ToleranceTable.Rounding.With(DType.F32, new Tolerance(1e-6)) },
            []);
    }

    private static CheckRow Check(OpInfo<P> op)
    {
        var rows = OpChecker.CheckCase(op, op.Cases()[0], [BackendKind.IlgpuCpu], 11);
        Assert.That(rows, Has.Count.EqualTo(1));
        TestContext.Out.WriteLine($"{rows[0].Case}: {rows[0].Status}: {rows[0].Message}");
        return rows[0];
    }

    // Masked logits to probabilities' numerators, as a softmax with max 0 would: exp(-inf) = 0.
    private static double Exp(double x) => Math.Exp(x);

    [Test]
    public void PatternMasksEvery7thAnd32ndElementAndEveryThirdRowFrom1()
    {
        var pattern = NegInfPattern.Logits(256, fullyMaskedRows: true);
        var values = Enumerable.Repeat(1.0, 4 * 256).ToArray();
        pattern.Apply(values);
        for (int i = 0; i < values.Length; i++)
        {
            bool masked = i / 256 == 1 || i % 7 == 0 || i % 32 == 0;
            Assert.That(double.IsNegativeInfinity(values[i]), Is.EqualTo(masked), $"element {i}");
        }
    }

    [Test]
    public void RowsTheContractDoesNotMaskFullyKeepAFiniteElement()
    {
        // Rows of one element: the strides alone would mask rows 0, 7, 14, ...; only row 1 and 4 may be all -inf.
        var values = Enumerable.Repeat(1.0, 15).ToArray();
        NegInfPattern.Logits(1, fullyMaskedRows: true).Apply(values);
        var fullyMasked = Enumerable.Range(0, 15).Where(r => double.IsNegativeInfinity(values[r])).ToArray();
        Assert.That(fullyMasked, Is.EqualTo(new[] { 1, 4, 7, 10, 13 }));

        var none = Enumerable.Repeat(1.0, 15).ToArray();
        NegInfPattern.Logits(1, fullyMaskedRows: false).Apply(none);
        Assert.That(none, Has.All.EqualTo(1.0));
    }

    [Test]
    public void PatternRejectsPartialRows()
    {
        var ex = Assert.Throws<ArgumentException>(() => NegInfPattern.Logits(7, false).Apply(new double[10]));
        Assert.That(ex!.Message, Does.Contain("10 elements").And.Contain("rows of 7"));
    }

    [Test]
    public void InputFactoryMasksOnlyWhenAskedAndKeepsTheFiniteDraws()
    {
        var sig = new OpSignature()
            .In("x", DType.BF16, new Shape(3, 40), InitSpec.Normal.WithMasking(NegInfPattern.Logits(40, fullyMaskedRows: true)))
            .In("w", DType.F32, new Shape(5), InitSpec.Normal);
        var plain = InputFactory.HostInputs(sig, 5);
        var masked = InputFactory.HostInputs(sig, 5, masked: true);
        try
        {
            var px = plain["x"].ToDoubles();
            var mx = masked["x"].ToDoubles();
            Assert.That(px, Has.All.Matches<double>(double.IsFinite));
            Assert.That(mx.Count(double.IsNegativeInfinity), Is.EqualTo(Enumerable.Range(0, 120).Count(i => i / 40 == 1 || i % 7 == 0 || i % 32 == 0)));
            for (int i = 0; i < px.Length; i++)
            {
                Assert.That(double.IsNegativeInfinity(mx[i]) || mx[i] == px[i], Is.True, $"x[{i}]: the finite draws are the same either way");
            }
            // An input whose contract allows no -inf stays finite in a masked case.
            Assert.That(masked["w"].ToDoubles(), Is.EqualTo(plain["w"].ToDoubles()));
        }
        finally
        {
            foreach (var t in plain.Values.Concat(masked.Values))
            {
                t.Dispose();
            }
        }
    }

    [Test]
    public void MaskedCaseOfAnOpWhoseContractAllowsNoInfinityIsRefused()
    {
        var sig = new OpSignature().In("x", DType.F32, new Shape(4), InitSpec.Normal).Out("y", DType.F32, new Shape(4));
        var ex = Assert.Throws<ArgumentException>(() => InputFactory.HostInputs(sig, 1, masked: true));
        Assert.That(ex!.Message, Does.Contain("no input (x) may hold -inf"));
    }

    [Test]
    public void NaNFromMaskedLogitsFailsTheCheck()
    {
        // The softmax bug in miniature: x - x is NaN for x = -inf, where the reference has 0.
        var row = Check(MakeOp("nan-on-masked", true, Exp, x => Math.Exp(x + (x - x))));
        Assert.That(row.Case, Is.EqualTo("f32 [4, 256] -inf"));
        Assert.That(row.Status, Is.EqualTo(CheckStatus.Fail));
        Assert.That(row.Message, Does.Contain("element 0 is NaN").And.Contain("masked (-inf) input"));
    }

    [Test]
    public void MaskedLogitsHandledPassTheCheck()
    {
        var row = Check(MakeOp("masked-ok", true, Exp, x => (double)MathF.Exp((float)x)));
        Assert.That(row.Status, Is.EqualTo(CheckStatus.Pass), row.Message);
    }

    [Test]
    public void TheSameCaseUnmaskedFeedsNoInfinity()
    {
        // Without CaseUse.Masked the buggy kernel is never shown -inf: that is how the softmax bug hid.
        var row = Check(MakeOp("nan-on-masked", true, Exp, x => Math.Exp(x + (x - x)), CaseUse.Check));
        Assert.That(row.Status, Is.EqualTo(CheckStatus.Pass), row.Message);
    }

    [Test]
    public void InfinitiesOfTheReferenceMustBeMatched()
    {
        // Identity keeps -inf: a backend that writes -inf passes, one that writes a finite value fails.
        var ok = Check(MakeOp("keeps-inf", true, x => x, x => x));
        Assert.That(ok.Status, Is.EqualTo(CheckStatus.Pass), ok.Message);
        var bad = Check(MakeOp("drops-inf", true, x => x, x => double.IsFinite(x) ? x : -1e30));
        Assert.That(bad.Status, Is.EqualTo(CheckStatus.Fail));
        Assert.That(bad.Message, Does.Contain("infinity not matched"));
    }

    [Test]
    public void NaNInTheReferenceIsAnErrorNotAVerdict()
    {
        var row = Check(MakeOp("nan-oracle", true, x => x - x, x => 0));
        Assert.That(row.Status, Is.EqualTo(CheckStatus.Fail));
        Assert.That(row.Message, Does.Contain("the reference failed").And.Contain("NaN"));
    }

    [Test]
    public void ErrorMetricsCompareNonFiniteValuesExactly()
    {
        double ninf = double.NegativeInfinity;
        Assert.That(ErrorMetrics.Compare([ninf, 1, double.PositiveInfinity], [ninf, 1, double.PositiveInfinity]).FirstNonFinite, Is.EqualTo(-1));
        Assert.That(ErrorMetrics.Compare([1, ninf], [1, 0]).FirstNonFinite, Is.EqualTo(1));
        Assert.That(ErrorMetrics.Compare([1, ninf], [1, double.PositiveInfinity]).FirstNonFinite, Is.EqualTo(1));
        Assert.That(ErrorMetrics.Compare([1, 0], [1, double.NaN]).FirstNonFinite, Is.EqualTo(1));
        var m = ErrorMetrics.Compare([ninf, 3, 4], [ninf, 3, 4.5]);
        Assert.That(m.RelL2, Is.EqualTo(0.5 / 5).Within(1e-15), "matching infinities stay out of the L2");
    }

    [Test]
    public void CaseSelectionFollowsTheDocumentedRule()
    {
        var check = CaseUse.Check;
        var emu = CaseUse.Emulator;
        var both = CaseUse.Check | CaseUse.Emulator;
        Assert.Multiple(() =>
        {
            Assert.That(CaseSelection.Runs(check, BackendKind.IlgpuCpu), Is.True);
            Assert.That(CaseSelection.Runs(emu, BackendKind.IlgpuCpu), Is.False, "ilgpu-cpu's time is CI's: Emulator cases need Check too");
            Assert.That(CaseSelection.Runs(both | CaseUse.Masked, BackendKind.IlgpuCpu), Is.True);
            Assert.That(CaseSelection.Runs(check, BackendKind.CudaEmu), Is.False, "the interpreter runs Emulator cases only");
            Assert.That(CaseSelection.Runs(emu, BackendKind.CudaEmu), Is.True);
            Assert.That(CaseSelection.Runs(both, BackendKind.IlgpuEmu), Is.True);
            Assert.That(CaseSelection.Runs(check, BackendKind.Cuda), Is.True);
            Assert.That(CaseSelection.Runs(emu, BackendKind.IlgpuCuda), Is.True, "a GPU runs what the emulator ran");
            Assert.That(CaseSelection.Runs(CaseUse.Bench, BackendKind.Cuda), Is.False);
            Assert.That(CaseSelection.Runs(CaseUse.Bench, BackendKind.Cuda, includeBenchCases: true), Is.True);
            Assert.That(CaseSelection.Runs(check, BackendKind.CudaEmu, includeBenchCases: true), Is.True);
        });
    }
}
