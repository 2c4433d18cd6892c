// The results format of DESIGN.md: one self-describing JSON file per benchmark run, Zoetrope's
// rows and the PyTorch peers' rows side by side (bench/peers/peers.py writes the same schema).
// Field names are snake_case on disk; every field below is required unless it is nullable.
namespace Zoetrope.Runtime.Results;

/// <summary>One benchmark run on one device.</summary>
/// <param name="Schema">Format version, <see cref="BenchReportJson.SchemaVersion"/>.</param>
/// <param name="Commit">The source commit measured.</param>
/// <param name="Date">UTC date and time of the run (ISO 8601).</param>
/// <param name="Device">The device.</param>
/// <param name="Runtime">Runtime versions.</param>
/// <param name="Ceilings">The chip's ceilings measured in the same run.</param>
/// <param name="Cases">The measured rows.</param>
internal sealed record BenchReport(
    string Schema, string Commit, string Date, BenchDevice Device, BenchRuntime Runtime, BenchCeilings Ceilings, IReadOnlyList<BenchCase> Cases);

/// <summary>The device a run measured.</summary>
/// <param name="Name">Device name (GPU marketing name, or the CPU).</param>
/// <param name="Sm">Compute capability (sm_90), or "cpu".</param>
/// <param name="Sms">Streaming multiprocessors, or CPU threads.</param>
/// <param name="Memory">Device memory in bytes.</param>
/// <param name="Driver">CUDA driver version, or "none".</param>
/// <param name="Clocks">Peak SM / memory clocks, as the driver reports them.</param>
internal sealed record BenchDevice(string Name, string Sm, int Sms, long Memory, string Driver, string Clocks);

/// <summary>Versions of what ran the kernels.</summary>
/// <param name="Dotnet">.NET runtime, or "python x / torch y" for peer files.</param>
/// <param name="Ilgpu">ILGPU version ("" in peer rows).</param>
/// <param name="Cuda">CUDA driver API version, or "none".</param>
internal sealed record BenchRuntime(string Dotnet, string Ilgpu, string Cuda);

/// <summary>Ceilings measured in the run: a large device-to-device copy and the best GEMM.</summary>
/// <param name="CopyGbps">Copy bandwidth, bytes read + written per second / 1e9.</param>
/// <param name="GemmTflops">Best GEMM throughput measured.</param>
/// <param name="GemmCase">Which GEMM gave it.</param>
internal sealed record BenchCeilings(double CopyGbps, double GemmTflops, string GemmCase);

/// <summary>One measured case.</summary>
/// <param name="Op">Op name (or "stream" for a streaming block).</param>
/// <param name="Backend">Backend, or the peer library ("torch").</param>
/// <param name="Shape">The case label: shapes and attributes.</param>
/// <param name="Dtype">Main dtype.</param>
/// <param name="Iterations">Timed repetitions.</param>
/// <param name="MedianMs">Median time.</param>
/// <param name="MinMs">Fastest repetition.</param>
/// <param name="P90Ms">90th percentile.</param>
/// <param name="Tflops">Achieved TFLOP/s (or TOPS) at the median.</param>
/// <param name="Gbps">Achieved GB/s at the median.</param>
/// <param name="FractionOfCeiling">The larger of TFLOP/s over the GEMM ceiling and GB/s over the copy ceiling.</param>
/// <param name="ErrorVsReference">relL2 against the reference backend, when checked.</param>
/// <param name="Peer">The peer implementation (sdpa, matmul, _int_mm, _scaled_mm, eager) for peer rows.</param>
/// <param name="SamplesMs">Every timed repetition, in order.</param>
/// <param name="Tensors">The op's tensors and their shapes (what a peer needs to build the same case), or null.</param>
/// <param name="Emulated">
/// On the emulated backends: what the emulated device counted for one run of the case, in place of
/// times (which are then 0 with no samples); null on every real backend.
/// </param>
internal sealed record BenchCase(
    string Op, string Backend, string Shape, string Dtype, int Iterations, double MedianMs, double MinMs, double P90Ms,
    double Tflops, double Gbps, double? FractionOfCeiling, double? ErrorVsReference, string? Peer, IReadOnlyList<double> SamplesMs,
    IReadOnlyDictionary<string, IReadOnlyList<long>>? Tensors = null, BenchEmulated? Emulated = null);

/// <summary>An emulated run's counters (no time is measured on the emulated device).</summary>
/// <param name="WarpInstructions">Warp instructions over every kernel of the case.</param>
/// <param name="BytesMoved">Global bytes moved at 32-byte sector granularity.</param>
/// <param name="ModelBytes">The bytes the op's cost model says the case must move.</param>
/// <param name="Coalescing">Ideal over actual global sectors (1 = perfectly coalesced).</param>
/// <param name="BankConflicts">Shared wavefronts over the conflict-free count (1 = none).</param>
/// <param name="Kernels">Per kernel: launches, instructions by class, tensor operations, sectors, wavefronts, warnings.</param>
/// <param name="Predicted">
/// PREDICTED times from these counters on each GPU of <see cref="GpuSpec.Known"/>, per case
/// (<c>kernel</c> null) and per kernel (<see cref="BenchPrediction"/>): a prediction, never a measurement.
/// </param>
/// <param name="ModelFlops">The op's cost-model FLOPs (or OPs) for the case: over a predicted time, a predicted rate.</param>
/// <param name="SampledCtas">
/// CTAs the emulator ran when it sampled the grids (`zoe bench --sample-ctas`), every counter being
/// scaled from them to the whole grids; 0 when every CTA ran.
/// </param>
internal sealed record BenchEmulated(long WarpInstructions, long BytesMoved, double ModelBytes, double Coalescing, double BankConflicts,
    IReadOnlyList<Execution.EmulatorCounters> Kernels, IReadOnlyList<BenchPrediction>? Predicted = null, double ModelFlops = 0, long SampledCtas = 0);
