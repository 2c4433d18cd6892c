using System.Diagnostics;
using Zoetrope.Runtime.Execution;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Runtime.Checking;

/// <summary>
/// The op check harness (after ggml's test-backend-ops): for every op and every case of its
/// table that <see cref="CaseSelection"/> gives a backend (Emulator cases on the emulated
/// backends, Check cases elsewhere; see its rule), draw fresh seeded inputs (with the -inf the
/// op's contract allows in a <see cref="CaseUse.Masked"/> case), compute the reference at f64,
/// then on each backend upload the inputs, poison the outputs (0xFF: NaN for every float type),
/// run, and compare every output against the reference: relative L2 and max-abs within the
/// table's tolerance, exact for integer outputs (re-run with a second poison, 0x5A, so an
/// unwritten integer element cannot pass by matching the poison), and NaN-aware: no NaN/Inf
/// where the reference is finite, the reference's own infinities matched exactly
/// (<see cref="ErrorMetrics"/>).
/// </summary>
public static class OpChecker
{
    private const byte FloatPoison = 0xFF;
    private const byte SecondPoison = 0x5A;

    /// <summary>Runs the checks; <paramref name="onRow"/> sees each row as it is decided.</summary>
    public static CheckReport Run(CheckOptions options, Action<CheckRow>? onRow = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var ops = options.Ops.Count == 0 ? OpCatalog.All : options.Ops.Select(OpCatalog.Get).ToArray();
        var rows = new List<CheckRow>();
        bool counters = options.EmulatorCounters && options.Backends.Any(k => k.IsEmulated());
        if (counters)
        {
            Zoetrope.Emulator.Device.EmuDevice.Shared.RecordLaunches = true;
        }
        void Emit(CheckRow row)
        {
            rows.Add(row);
            onRow?.Invoke(row);
        }
        foreach (var op in ops)
        {
            foreach (var c in op.Cases())
            {
                var kinds = options.Backends.Where(k => CaseSelection.Runs(c.Use, k, options.IncludeBenchCases)).ToArray();
                if (kinds.Length == 0)
                {
                    continue;
                }
                foreach (var row in CheckCase(op, c, kinds, InputFactory.StableSeed(options.Seed, op.Name, c.Index), options.SaveOutputs))
                {
                    Emit(row);
                }
            }
        }
        if (counters)
        {
            Zoetrope.Emulator.Device.EmuDevice.Shared.RecordLaunches = false;
            Zoetrope.Emulator.Device.EmuDevice.Shared.TakeLaunches();
        }
        return new CheckReport(rows);
    }

    /// <summary>
    /// Checks one case on the given backends (the reference is computed once), whatever its use:
    /// the selection by use is <see cref="Run"/>'s.
    /// </summary>
    /// <param name="op">The op.</param>
    /// <param name="c">The case.</param>
    /// <param name="backends">The backends to check it on.</param>
    /// <param name="seed">The seed its inputs are drawn with.</param>
    /// <param name="saveOutputs">A folder to keep each backend's outputs in (<see cref="OutputStore"/>), or null.</param>
    public static IReadOnlyList<CheckRow> CheckCase(IOpInfo op, OpCaseInstance c, IReadOnlyList<BackendKind> backends, int seed, string? saveOutputs = null)
    {
        ArgumentNullException.ThrowIfNull(op);
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(backends);
        var inst = c.Instance;
        var rows = new List<CheckRow>();
        var runnable = new List<BackendKind>();
        foreach (var kind in backends.Where(k => k != BackendKind.Reference))
        {
            var availability = Backends.Probe(kind);
            if (!op.Supports(kind))
            {
                rows.Add(Row(op, c, kind, CheckStatus.Unsupported, $"op '{op.Name}' has no {kind.Label()} implementation"));
            }
            else if (!availability.Available)
            {
                rows.Add(Row(op, c, kind, CheckStatus.Unavailable, availability.Reason));
            }
            else if (!op.Caps.Allows(kind, inst.Cost.Work))
            {
                rows.Add(Row(op, c, kind, CheckStatus.Skipped,
                    $"work {inst.Cost.Work:g3} above the {kind.Label()} cap {op.Caps.MaxWork(kind):g3}"));
            }
            else
            {
                runnable.Add(kind);
            }
        }
        if (runnable.Count == 0)
        {
            return rows;
        }

        Dictionary<string, Tensor> inputs;
        try
        {
            inputs = InputFactory.HostInputs(inst.Signature, seed, c.Masked);
        }
        catch (ArgumentException e)
        {
            // A case the op's contract cannot feed (a masked case with no maskable input) is the table's error.
            foreach (var kind in runnable)
            {
                rows.Add(Row(op, c, kind, CheckStatus.Fail, $"the inputs could not be drawn: {e.Message}"));
            }
            return rows;
        }
        Dictionary<string, double[]> expected;
        try
        {
            expected = ReferenceRunner.Run(inst, inputs);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            foreach (var kind in runnable)
            {
                rows.Add(Row(op, c, kind, CheckStatus.Fail, $"the reference failed: {e.GetType().Name}: {e.Message}"));
            }
            Dispose(inputs.Values);
            return rows;
        }
        foreach (var kind in runnable)
        {
            rows.Add(CheckBackend(op, c, kind, inputs, expected, saveOutputs));
        }
        Dispose(inputs.Values);
        return rows;
    }

    private static CheckRow CheckBackend(IOpInfo op, OpCaseInstance c, BackendKind kind, Dictionary<string, Tensor> inputs, Dictionary<string, double[]> expected, string? saveOutputs)
    {
        var inst = c.Instance;
        var device = new List<Tensor>();
        try
        {
            var backend = Backends.Get(kind);
            bool integerOutputs = inst.Signature.Writes.Any(s => s.ComparesExactly);
            bool count = kind.IsEmulated() && Zoetrope.Emulator.Device.EmuDevice.Shared.RecordLaunches;
            if (count)
            {
                Zoetrope.Emulator.Device.EmuDevice.Shared.TakeLaunches(); // drop launches that are not this run's
            }
            var sw = Stopwatch.StartNew();
            var first = RunOnce(inst, backend, inputs, FloatPoison, device);
            double ms = sw.Elapsed.TotalMilliseconds;
            if (saveOutputs is not null)
            {
                OutputStore.Save(saveOutputs, op.Name, c.Index, kind, inst.Signature, first);
            }
            var verdict = Judge(op, c, kind, first, expected, ms);
            if (count)
            {
                verdict = verdict with
                {
                    Emulated = EmulatorCounters.PerKernel(Zoetrope.Emulator.Device.EmuDevice.Shared.TakeLaunches()),
                    ModelBytes = inst.Cost.Bytes,
                    ModelFlops = inst.Cost.Flops,
                };
            }
            if (verdict.Status == CheckStatus.Pass && integerOutputs)
            {
                Dispose(device);
                device.Clear();
                var second = RunOnce(inst, backend, inputs, SecondPoison, device);
                var again = Judge(op, c, kind, second, expected, ms);
                if (again.Status != CheckStatus.Pass)
                {
                    return again with { Message = "with a second poison pattern: " + again.Message };
                }
            }
            return verdict;
        }
        catch (NotSupportedException e)
        {
            return Row(op, c, kind, CheckStatus.Unsupported, e.Message);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return Row(op, c, kind, CheckStatus.Fail, $"{e.GetType().Name}: {e.Message}");
        }
        finally
        {
            Dispose(device);
        }
    }

    private static Dictionary<string, double[]> RunOnce(OpInstance inst, Backend backend, Dictionary<string, Tensor> inputs, byte poison, List<Tensor> device)
    {
        var tensors = new OpTensors();
        foreach (var spec in inst.Signature.Tensors)
        {
            Tensor t;
            if (spec.IsRead)
            {
                t = inputs[spec.Name].To(backend);
            }
            else
            {
                t = backend.Allocate(spec.DType, spec.Shape, spec.Name);
                t.FillBytes(poison);
            }
            device.Add(t);
            tensors.Add(spec.Name, t);
        }
        inst.Run(backend, tensors);
        backend.Synchronize();
        return inst.Signature.Writes.ToDictionary(s => s.Name, s => tensors[s.Name].ToDoubles(), StringComparer.Ordinal);
    }

    private static CheckRow Judge(IOpInfo op, OpCaseInstance c, BackendKind kind, Dictionary<string, double[]> actual, Dictionary<string, double[]> expected, double ms)
    {
        var inst = c.Instance;
        CheckRow? worst = null;
        double worstRatio = -1;
        foreach (var spec in inst.Signature.Writes)
        {
            var tol = spec.ComparesExactly ? Tolerance.Exact : spec.Tolerance ?? c.Tolerances.For(spec.DType);
            var m = ErrorMetrics.Compare(expected[spec.Name], actual[spec.Name]);
            string? failure = null;
            if (m.FirstNonFinite >= 0)
            {
                double e = expected[spec.Name][m.FirstNonFinite];
                failure = $"output '{spec.Name}' element {m.FirstNonFinite} is {actual[spec.Name][m.FirstNonFinite]} (reference {e:g6}): " +
                    (!double.IsFinite(e) ? "the reference's infinity not matched"
                        : c.Masked ? "unwritten (poisoned), overflowed, or NaN from a masked (-inf) input"
                        : "unwritten (poisoned) or overflowed");
            }
            else if (tol.IsExact && m.Mismatches > 0)
            {
                failure = $"output '{spec.Name}': {m.Mismatches} elements differ from the reference (exact required); " +
                    $"first worst at {m.MaxAbsIndex}: {actual[spec.Name][m.MaxAbsIndex]:g9} vs {expected[spec.Name][m.MaxAbsIndex]:g9}";
            }
            else if (!tol.IsExact && (m.RelL2 > tol.RelL2 || (tol.MaxAbs > 0 && m.MaxAbs > tol.MaxAbs)))
            {
                failure = $"output '{spec.Name}': relL2 {m.RelL2:g3}, max abs {m.MaxAbs:g3} at {m.MaxAbsIndex}, over {tol}";
            }
            double ratio = failure is not null ? double.PositiveInfinity : tol.IsExact ? 0 : m.RelL2 / tol.RelL2;
            if (ratio > worstRatio)
            {
                worstRatio = ratio;
                worst = new CheckRow(op.Name, c.Label, kind.Label(), failure is null ? CheckStatus.Pass : CheckStatus.Fail,
                    spec.Name, m.RelL2, m.MaxAbs, tol.ToString(), ms, failure ?? string.Empty);
            }
        }
        return worst ?? Row(op, c, kind, CheckStatus.Fail, "the op declares no outputs");
    }

    private static CheckRow Row(IOpInfo op, OpCaseInstance c, BackendKind kind, CheckStatus status, string message) =>
        new(op.Name, c.Label, kind.Label(), status, string.Empty, double.NaN, double.NaN, string.Empty, 0, message);

    private static void Dispose(IEnumerable<Tensor> tensors)
    {
        foreach (var t in tensors)
        {
            t.Dispose();
        }
    }
}
