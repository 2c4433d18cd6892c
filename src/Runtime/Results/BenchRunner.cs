// BenchRunner: the kernel engineer's measurement. For every case row an op's table marks for the
// chosen use (check: CPU-sized; bench: model-sized), on one backend:
//   inputs: seeded random data, in as many rotating sets as it takes to exceed twice the L2 (so
//           a timed run does not find its operands in cache); one set on CPU backends
//   timing: warm-up runs, then N runs each between device markers (CUDA events on GPUs, a
//           stopwatch around a synchronize on CPUs); median, min, p90 and every sample
//   ceilings: a large device-to-device copy and a large `linear` GEMM, measured in the same run;
//           each row's fraction of ceiling is the larger of TFLOP/s / GEMM and GB/s / copy (a
//           ceiling that a row beats is raised to that row, so fractions stay <= 1)
//   error:  relL2 of the first set's outputs against the reference backend, for check-sized rows
using System.Diagnostics;
using System.Reflection;
using Zoetrope.Runtime.Checking;
using Zoetrope.Runtime.Cuda;
using Zoetrope.Runtime.Execution;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Runtime.Results;

/// <summary>What to measure and how.</summary>
internal sealed record BenchOptions
{
    /// <summary>Where to run.</summary>
    public required Backend Backend { get; init; }

    /// <summary>Ops to measure (see <see cref="BenchSuites"/>).</summary>
    public required IReadOnlyList<string> Ops { get; init; }

    /// <summary>Which case rows: Check (small) or Bench (model-sized).</summary>
    public CaseUse Use { get; init; } = CaseUse.Check;

    /// <summary>Untimed runs first.</summary>
    public int Warmup { get; init; } = 3;

    /// <summary>Timed runs.</summary>
    public int Repeat { get; init; } = 20;

    /// <summary>At most this many rows per op (0: all).</summary>
    public int MaxCasesPerOp { get; init; }

    /// <summary>Compare check-sized rows with the reference backend.</summary>
    public bool CheckError { get; init; } = true;

    /// <summary>Bytes the rotating input sets must exceed; null: twice the GPU's L2, none on CPUs.</summary>
    public long? RotateBytes { get; init; }

    /// <summary>
    /// Emulated backends only (0: off): each launch runs this many CTAs of its grid and its counters
    /// are scaled to the whole grid (EmuDevice.SampleCtas), so model-sized rows get counters and
    /// predictions; the op's emulated work cap is then not applied (outputs are not computed whole).
    /// </summary>
    public int SampleCtas { get; init; }

    /// <summary>Only rows whose case label contains this text (case-insensitive); null: every row.</summary>
    public string? Match { get; init; }
}

/// <summary>Runs benchmark suites into a <see cref="BenchReport"/>.</summary>
internal static class BenchRunner
{
    private const int MaxSets = 8;

    /// <summary>
    /// Measures the ceilings, then every selected row; <paramref name="progress"/> sees each row as
    /// it lands, <paramref name="snapshot"/> the report of the rows so far (to save it as it grows).
    /// </summary>
    public static BenchReport Run(BenchOptions options, Action<BenchCase>? progress = null, Action<BenchReport>? snapshot = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        // The emulated device measures no time, so it has no ceilings; its rows carry counters.
        var ceilings = options.Backend.Kind.IsEmulated()
            ? new BenchCeilings(0, 0, "none: the emulated device counts, it does not time")
            : MeasureCeilings(options.Backend, options.Warmup, Math.Max(3, options.Repeat / 2));
        var cases = new List<BenchCase>();
        foreach (var (op, rows) in Rows(options))
        {
            foreach (var row in rows)
            {
                var result = MeasureCase(options, row);
                cases.Add(result);
                progress?.Invoke(result);
                if (snapshot is not null)
                {
                    snapshot(Report(options.Backend, ceilings, Bounded(ceilings, cases, out var soFar), soFar));
                }
            }
        }
        return Report(options.Backend, ceilings, Bounded(ceilings, cases, out var effective), effective);
    }

    // A "ceiling" some row beats is no ceiling (CPU accelerators' small GEMM, a copy slower than
    // a fused kernel's reads): raise it to the best row and say so in the report's GEMM case.
    private static IReadOnlyList<BenchCase> Bounded(BenchCeilings measured, IReadOnlyList<BenchCase> cases, out BenchCeilings effective)
    {
        double gemm = Math.Max(measured.GemmTflops, cases.Select(c => c.Tflops).DefaultIfEmpty(0).Max());
        double copy = Math.Max(measured.CopyGbps, cases.Select(c => c.Gbps).DefaultIfEmpty(0).Max());
        effective = new BenchCeilings(copy, gemm,
            gemm > measured.GemmTflops ? $"{measured.GemmCase} ({ResultFormat.Significant(measured.GemmTflops)} TFLOP/s measured); raised to the best row" : measured.GemmCase);
        var e = effective;
        return cases.Select(c => c with
        {
            FractionOfCeiling = e.GemmTflops > 0 && e.CopyGbps > 0 ? Math.Max(c.Tflops / e.GemmTflops, c.Gbps / e.CopyGbps) : null,
        }).ToArray();
    }

    /// <summary>A report of <paramref name="cases"/> with this machine's description.</summary>
    public static BenchReport Report(Backend backend, BenchCeilings ceilings, IReadOnlyList<BenchCase> cases, BenchCeilings? effective = null) =>
        new(BenchReportJson.SchemaVersion, Commit(), DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
            Describe(backend), Versions(), effective ?? ceilings, cases);

    /// <summary>Times one case row (see the file header).</summary>
    /// <remarks>The fraction of ceiling is left null: <see cref="Run"/> fills it once every row is in.</remarks>
    public static BenchCase MeasureCase(BenchOptions options, OpCaseInstance row)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(row);
        var backend = options.Backend;
        var instance = row.Instance;
        var sig = instance.Signature;
        if (backend.Kind.IsEmulated())
        {
            return CountCase(backend, row, options.SampleCtas);
        }
        long setBytes = Math.Max(1, sig.Tensors.Sum(t => t.Shape.ElementCount * t.DType.Size()));
        long rotate = options.RotateBytes ?? DefaultRotateBytes(backend);
        int sets = (int)Math.Clamp((rotate + setBytes - 1) / setBytes, 1, MaxSets);
        var host = new List<Dictionary<string, Tensor>>();
        var device = new List<OpTensors>();
        var owned = new List<Tensor>();
        try
        {
            for (int s = 0; s < sets; s++)
            {
                var inputs = InputFactory.HostInputs(sig, seed: 1 + s);
                host.Add(inputs);
                var tensors = new OpTensors();
                foreach (var spec in sig.Tensors)
                {
                    var t = spec.IsRead ? inputs[spec.Name].To(backend, spec.Name) : backend.Allocate(spec.DType, spec.Shape, spec.Name);
                    owned.Add(t);
                    tensors.Add(spec.Name, t);
                }
                device.Add(tensors);
            }
            int next = 0;
            var stats = TimingStats.Measure(backend, () => instance.Run(backend, device[next++ % sets]), options.Warmup, options.Repeat);
            var cost = instance.Cost;
            double tflops = cost.Tflops(stats.MedianMs);
            double gbps = cost.GBps(stats.MedianMs);
            double? error = options.CheckError && row.Use.HasFlag(CaseUse.Check) ? ErrorVsReference(instance, host[0], device[0], backend) : null;
            string dtype = sig.Reads.FirstOrDefault()?.DType.Name() ?? "-";
            return new BenchCase(instance.Op.Name, backend.Name, instance.Label, dtype, stats.Iterations, stats.MedianMs, stats.MinMs, stats.P90Ms,
                tflops, gbps, null, error, null, stats.SamplesMs,
                sig.Tensors.ToDictionary(t => t.Name, t => (IReadOnlyList<long>)t.Shape.ToArray()));
        }
        finally
        {
            foreach (var t in owned.Concat(host.SelectMany(h => h.Values)))
            {
                t.Dispose();
            }
        }
    }

    /// <summary>
    /// A case on the emulated device: one run with the launches recorded, their counters in place
    /// of times (an interpreter's wall time says nothing about a GPU's); with <paramref name="sampleCtas"/>,
    /// each launch runs that many CTAs and its counters are scaled to the grid.
    /// </summary>
    private static BenchCase CountCase(Backend backend, OpCaseInstance row, int sampleCtas)
    {
        var instance = row.Instance;
        var sig = instance.Signature;
        var device = Zoetrope.Emulator.Device.EmuDevice.Shared;
        var owned = new List<Tensor>();
        var inputs = InputFactory.HostInputs(sig, seed: 1);
        bool recording = device.RecordLaunches;
        int sampling = device.SampleCtas;
        device.RecordLaunches = true;
        device.SampleCtas = sampleCtas;
        try
        {
            device.TakeLaunches();
            var tensors = new OpTensors();
            foreach (var spec in sig.Tensors)
            {
                var t = spec.IsRead ? inputs[spec.Name].To(backend, spec.Name) : backend.Allocate(spec.DType, spec.Shape, spec.Name);
                owned.Add(t);
                tensors.Add(spec.Name, t);
            }
            instance.Run(backend, tensors);
            backend.Synchronize();
            var kernels = EmulatorCounters.PerKernel(device.TakeLaunches());
            var sum = EmulatorCounters.Sum(kernels);
            var predicted = GpuSpec.Known
                .SelectMany(gpu => BenchPrediction.ForKernels(gpu, kernels, instance.Cost.Bytes).Prepend(BenchPrediction.ForCase(gpu, kernels, instance.Cost.Bytes)))
                .ToArray();
            var emulated = new BenchEmulated(sum?.WarpInstructions ?? 0, sum?.BytesMoved ?? 0, instance.Cost.Bytes,
                sum?.Coalescing ?? 1, sum?.BankConflicts ?? 1, kernels, predicted, instance.Cost.Flops, sum?.SampledCtas ?? 0);
            string dtype = sig.Reads.FirstOrDefault()?.DType.Name() ?? "-";
            return new BenchCase(instance.Op.Name, backend.Name, instance.Label, dtype, 0, 0, 0, 0, 0, 0, null, null, null, [],
                sig.Tensors.ToDictionary(t => t.Name, t => (IReadOnlyList<long>)t.Shape.ToArray()), emulated);
        }
        finally
        {
            device.RecordLaunches = recording;
            device.SampleCtas = sampling;
            foreach (var t in owned.Concat(inputs.Values))
            {
                t.Dispose();
            }
        }
    }

    /// <summary>
    /// The copy and GEMM ceilings: a device-to-device copy of 1 GiB (GPU) or 64 MiB (CPU), and
    /// `linear` at 8192^3 bf16 (GPU) or 64 x 128 x 128 f32 (CPU: ILGPU's CPU accelerator pays per tile, so only a small GEMM finishes in seconds); the GEMM row is measured
    /// like any other (its case is named in the report).
    /// </summary>
    public static BenchCeilings MeasureCeilings(Backend backend, int warmup, int repeat)
    {
        ArgumentNullException.ThrowIfNull(backend);
        bool gpu = backend.Kind.NeedsGpu();
        long bytes = gpu ? 1L << 30 : 64L << 20;
        double copyGbps;
        using (var a = backend.Allocate(DType.U8, new Shape(bytes), "copy_src"))
        using (var b = backend.Allocate(DType.U8, new Shape(bytes), "copy_dst"))
        {
            a.FillBytes(1);
            var copy = TimingStats.Measure(backend, () => b.CopyFrom(a), warmup, repeat);
            copyGbps = 2.0 * bytes / (copy.MedianMs * 1e6);
        }
        var linear = OpCatalog.Find("linear");
        if (linear is null || !linear.Supports(backend.Kind))
        {
            return new BenchCeilings(copyGbps, 0, "none");
        }
        long m = gpu ? 8192 : 64, n = gpu ? 8192 : 128, k = gpu ? 8192 : 128;
        var dtype = gpu ? DType.BF16 : DType.F32;
        using var x = backend.Allocate(dtype, new Shape(m, k), "x");
        using var w = backend.Allocate(dtype, new Shape(n, k), "weight");
        using var y = backend.Allocate(dtype, new Shape(m, n), "y");
        x.FillBytes(0x3C);
        w.FillBytes(0x3C);
        var instance = linear.Bind(new OpBinding("linear", new Dictionary<string, Tensor> { ["x"] = x, ["weight"] = w }, new Dictionary<string, string>()));
        var tensors = new OpTensors { { "x", x }, { "weight", w }, { "y", y } };
        var gemm = TimingStats.Measure(backend, () => instance.Run(backend, tensors), warmup, repeat);
        return new BenchCeilings(copyGbps, instance.Cost.Tflops(gemm.MedianMs), $"linear {instance.Label}");
    }

    /// <summary>The device of <paramref name="backend"/>.</summary>
    public static BenchDevice Describe(Backend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (backend.Kind.NeedsGpu() && CudaDriver.Probe() is { Available: true } probe && probe.Devices.Count > 0)
        {
            var d = probe.Devices[0];
            return new BenchDevice(d.Name, d.Sm, d.SmCount, d.TotalMemoryBytes, Driver(probe.DriverVersion),
                $"sm {d.ClockKHz / 1000} MHz, memory {d.MemoryClockKHz / 1000} MHz x {d.MemoryBusWidthBits} bit");
        }
        return new BenchDevice(backend.DeviceName, "cpu", Environment.ProcessorCount, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, "none", "n/a");
    }

    /// <summary>.NET, ILGPU and CUDA driver versions.</summary>
    public static BenchRuntime Versions()
    {
        var probe = CudaDriver.Probe();
        string ilgpu = typeof(ILGPU.Context).Assembly.GetName().Version?.ToString(3) ?? "?";
        return new BenchRuntime(Environment.Version.ToString(), ilgpu, probe.Available ? Driver(probe.DriverVersion) : "none");
    }

    /// <summary>
    /// The commit measured: ZOETROPE_COMMIT, else the hash the build embedded in this assembly
    /// (its informational version, "0.1.0+&lt;sha&gt;"), else <c>git rev-parse --short HEAD</c>, else "unknown".
    /// </summary>
    /// <remarks>
    /// The embedded hash comes first: it is the source these kernels were built from, wherever the
    /// binary runs (the device kit, a copied zoe, a folder inside another git repository), where
    /// git would name whatever work tree the current directory happens to be in.
    /// </remarks>
    public static string Commit()
    {
        if (Environment.GetEnvironmentVariable("ZOETROPE_COMMIT") is { Length: > 0 } env)
        {
            return env;
        }
        string? version = typeof(BenchRunner).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (version is not null && BenchReportJson.Commit(version) is var embedded && embedded != version)
        {
            return embedded;
        }
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", "rev-parse --short HEAD") { RedirectStandardOutput = true, RedirectStandardError = true });
            if (git is not null && git.WaitForExit(5000) && git.ExitCode == 0)
            {
                return git.StandardOutput.ReadToEnd().Trim();
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // no git on this machine
        }
        return "unknown";
    }

    private static string Driver(int version) => $"{version / 1000}.{version % 1000 / 10}";

    /// <summary>The case rows <see cref="Run"/> measures, per op.</summary>
    public static IEnumerable<(IOpInfo Op, IEnumerable<OpCaseInstance> Rows)> Rows(BenchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (var name in options.Ops)
        {
            var op = OpCatalog.Get(name);
            bool sampled = options.SampleCtas > 0 && options.Backend.Kind.IsEmulated();  // sampling bounds the emulated work
            var rows = op.Cases().Where(c => c.Use.HasFlag(options.Use) && op.Supports(options.Backend.Kind)
                && (sampled || op.Caps.Allows(options.Backend.Kind, c.Instance.Cost.Work))
                && (options.Match is null || c.Instance.Label.Contains(options.Match, StringComparison.OrdinalIgnoreCase)));
            yield return (op, options.MaxCasesPerOp > 0 ? rows.Take(options.MaxCasesPerOp) : rows);
        }
    }

    /// <summary>
    /// The most memory one case row holds while it is measured (for a preflight), worked out from
    /// the signatures alone: the rotating sets on the backend, their host copies, and the f64
    /// staging of the reference check; with the row that needs it.
    /// </summary>
    public static (long BackendBytes, long HostBytes, string Row) PeakCaseBytes(BenchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        (long, long, string) peak = (0, 0, "none");
        long rotate = options.RotateBytes ?? DefaultRotateBytes(options.Backend);
        foreach (var (op, rows) in Rows(options))
        {
            foreach (var row in rows)
            {
                var sig = row.Instance.Signature;
                long setBytes = Math.Max(1, sig.Tensors.Sum(t => t.Shape.ElementCount * t.DType.Size()));
                long readBytes = sig.Reads.Sum(t => t.Shape.ElementCount * t.DType.Size());
                long elements = sig.Tensors.Sum(t => t.Shape.ElementCount);
                int sets = (int)Math.Clamp((rotate + setBytes - 1) / setBytes, 1, MaxSets);
                long backendBytes = sets * setBytes;
                // Host copies of every set's inputs, plus the reference's f64 operands and outputs when errors are checked.
                long hostBytes = (sets * readBytes) + (options.CheckError ? 8 * elements : 0);
                if (backendBytes + hostBytes > peak.Item1 + peak.Item2)
                {
                    peak = (backendBytes, hostBytes, $"{op.Name} {row.Label}");
                }
            }
        }
        return peak;
    }

    private static long DefaultRotateBytes(Backend backend) =>
        backend.Kind.NeedsGpu() && CudaDriver.Probe() is { Available: true } p && p.Devices.Count > 0 ? 2L * p.Devices[0].L2CacheBytes : 0;

    private static double ErrorVsReference(OpInstance instance, Dictionary<string, Tensor> inputs, OpTensors tensors, Backend backend)
    {
        foreach (var spec in instance.Signature.Tensors.Where(s => s.Role == TensorRole.InOut))
        {
            tensors[spec.Name].CopyFrom(inputs[spec.Name]);
        }
        instance.Run(backend, tensors);
        backend.Synchronize();
        var expected = ReferenceRunner.Run(instance, inputs);
        return instance.Signature.Writes.Max(w => ErrorMetrics.Compare(expected[w.Name], tensors[w.Name].ToDoubles()).RelL2);
    }
}
