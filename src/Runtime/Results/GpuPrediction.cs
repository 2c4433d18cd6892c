using Zoetrope.Runtime.Execution;

namespace Zoetrope.Runtime.Results;

/// <summary>
/// A GPU as its datasheet describes it, for predictions only: memory bandwidth, SMs and boost
/// clock, and dense tensor-core peaks. None of these is a measurement.
/// </summary>
/// <param name="Name">The part, as NVIDIA names it.</param>
/// <param name="Key">The short name on the command line and in results (h100, h200, a100, rtx4090).</param>
/// <param name="MemoryGBps">Peak DRAM bandwidth, GB/s.</param>
/// <param name="Sms">Streaming multiprocessors.</param>
/// <param name="BoostGHz">Boost clock, GHz.</param>
/// <param name="F16Tflops">Dense f16/bf16 tensor TFLOPS with f32 accumulation.</param>
/// <param name="Int8Tops">Dense INT8 tensor TOPS.</param>
/// <param name="Fp8Tflops">Dense FP8 tensor TFLOPS (0: no FP8 tensor cores).</param>
/// <param name="MmaSyncFraction">
/// The share of those peaks the warp-level <c>mma.sync</c> path can reach (an assumption, not a
/// datasheet figure): 1 where <c>mma.sync</c> is the native path (Ampere, Ada); about two thirds
/// on Hopper, whose peaks need <c>wgmma</c> (FlashAttention-2 against -3 on H100 shows the gap).
/// </param>
/// <param name="L2GBps">
/// L2 bandwidth, GB/s: an assumption from public microbenchmarks (NVIDIA publishes none), the rate
/// at which every sector the kernels touch is served when the bytes that must come from DRAM are
/// fewer (attention re-reads each head's K and V once per query block, from L2). H100/H200: about
/// 5.5 TB/s, Chips and Cheese's measurement of an H100 PCIe (2023); the SXM parts clock higher,
/// and dense GEMMs with 128 x 128 tiles reaching 600 TFLOP/s would need about 9 TB/s, so a
/// prediction bound by this term ("l2") is a pessimistic one, and the term's weight is the
/// model's largest uncertainty (dense attention with 128-row CTAs moves 1/128 byte per FLOP:
/// this figure alone caps it near 700 TFLOP/s).
/// </param>
internal sealed record GpuSpec(string Name, string Key, double MemoryGBps, int Sms, double BoostGHz, double F16Tflops, double Int8Tops, double Fp8Tflops,
    double MmaSyncFraction, double L2GBps)
{
    /// <summary>What <see cref="Key"/> may name; the H100 and H200 are the parts the device kit runs on.</summary>
    public static IReadOnlyList<GpuSpec> Known { get; } =
    [
        new("NVIDIA H100 SXM5 80GB", "h100", 3350, 132, 1.98, 989.4, 1978.9, 1978.9, 2.0 / 3, 5500),
        new("NVIDIA H200 SXM 141GB", "h200", 4800, 132, 1.98, 989.4, 1978.9, 1978.9, 2.0 / 3, 5500),
        new("NVIDIA A100 SXM4 80GB", "a100", 2039, 108, 1.41, 312, 624, 0, 1, 4000),
        new("NVIDIA GeForce RTX 4090", "rtx4090", 1008, 128, 2.52, 165.2, 660.6, 330.3, 1, 3000),
    ];

    /// <summary>The spec named <paramref name="key"/>.</summary>
    /// <exception cref="ArgumentException">No such GPU in <see cref="Known"/>.</exception>
    public static GpuSpec Of(string key) =>
        Known.FirstOrDefault(g => string.Equals(g.Key, key, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"no GPU '{key}' to predict for; known: {string.Join(", ", Known.Select(g => g.Key))}", nameof(key));
}

/// <summary>
/// A predicted time, never a measurement: from the emulated device's counters for one kernel (or a
/// case's kernels summed), on one <see cref="GpuSpec"/>. The time is the largest of three bounds
/// plus the launches: memory, the larger of the DRAM bytes over its bandwidth and every byte moved
/// (at sector granularity, so poor coalescing costs here) over the assumed L2 bandwidth (bound
/// "l2" when that term sets it). DRAM bytes are the op's cost-model bytes (its inputs and outputs
/// once: perfect L2 reuse, and a lower bound where intermediates such as SLA's f32 workspaces
/// spill past L2), shared among the case's kernels by the bytes each moved; without a model,
/// every byte moved; tensor operations over the <c>mma.sync</c> peak of their precision (the full datasheet peak for Hopper's <c>wgmma</c>); the other warp
/// instructions over the issue rate (4 per SM per clock). Each bound is scaled by the share of
/// SMs the launch's CTAs can fill: a grid of 20 CTAs uses 20 of 132 SMs. The same run's GPU rows
/// show the measurement beside it.
/// </summary>
/// <param name="Gpu">The spec's key.</param>
/// <param name="Kernel">The kernel, or null for a whole case.</param>
/// <param name="Ms">The prediction.</param>
/// <param name="Bound">Which bound set it: memory (DRAM), l2, tensor, issue or launch.</param>
/// <param name="MemoryMs">DRAM bytes over its bandwidth, or all bytes moved over L2's, whichever is longer (at the filled share of SMs).</param>
/// <param name="TensorMs">Tensor operations over the mma.sync peaks (wgmma's over the full peaks).</param>
/// <param name="IssueMs">Non-tensor warp instructions over the issue rate.</param>
/// <param name="LaunchMs">Launch overhead, <see cref="LaunchUs"/> per launch.</param>
internal sealed record BenchPrediction(string Gpu, string? Kernel, double Ms, string Bound, double MemoryMs, double TensorMs, double IssueMs, double LaunchMs)
{
    /// <summary>Assumed cost of one launch on a stream of back-to-back launches, µs.</summary>
    public const double LaunchUs = 2.5;

    /// <summary>
    /// Prediction for one kernel's counters (all its launches); <paramref name="dramBytes"/>: the
    /// bytes of them that must come from DRAM (null: all of them).
    /// </summary>
    public static BenchPrediction For(GpuSpec gpu, EmulatorCounters k, double? dramBytes = null)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        ArgumentNullException.ThrowIfNull(k);
        int launches = Math.Max(1, k.Launches);
        // CTAs per launch against SMs: the share of the GPU the grid can occupy.
        double fill = Math.Clamp((double)k.Ctas / launches / gpu.Sms, 1.0 / gpu.Sms, 1.0);
        double dram = Math.Min(dramBytes ?? k.BytesMoved, k.BytesMoved);
        double dramMs = dram / (gpu.MemoryGBps * 1e9 * fill) * 1e3, l2Ms = k.BytesMoved / (gpu.L2GBps * 1e9 * fill) * 1e3;
        double memory = Math.Max(dramMs, l2Ms);
        double tensor = 0;
        foreach (var (precision, ops) in k.TensorOps)
        {
            // wgmma ops (keys ending "wgmma", Hopper's warpgroup path) run at the datasheet peak;
            // mma.sync ops at the share of it that path reaches.
            bool wgmma = precision.EndsWith("wgmma", StringComparison.Ordinal);
            double peak = (wgmma ? precision[..^"wgmma".Length] : precision) switch
            {
                "int8" => gpu.Int8Tops,
                "fp8" => gpu.Fp8Tflops > 0 ? gpu.Fp8Tflops : gpu.F16Tflops,
                _ => gpu.F16Tflops,
            };
            tensor += ops / (peak * 1e12 * (wgmma ? 1 : gpu.MmaSyncFraction) * fill) * 1e3;
        }
        long issued = k.WarpInstructions - k.ByClass.GetValueOrDefault("tensor");
        double issue = issued / (gpu.Sms * 4 * gpu.BoostGHz * 1e9 * fill) * 1e3;
        double launch = k.Launches * LaunchUs / 1e3;
        double body = Math.Max(memory, Math.Max(tensor, issue));
        string bound = body < launch ? "launch" : memory >= tensor && memory >= issue ? (l2Ms > dramMs ? "l2" : "memory") : tensor >= issue ? "tensor" : "issue";
        return new BenchPrediction(gpu.Key, k.Kernel, body + launch, bound, memory, tensor, issue, launch);
    }

    /// <summary>
    /// The bytes each kernel must bring from DRAM: the case's model bytes shared by the bytes each
    /// moved (none moves more than it touched); null for every kernel without a model.
    /// </summary>
    public static double?[] DramShares(IReadOnlyList<EmulatorCounters> kernels, double modelBytes)
    {
        ArgumentNullException.ThrowIfNull(kernels);
        double moved = kernels.Sum(k => (double)k.BytesMoved);
        return kernels.Select(k => modelBytes > 0 && moved > 0 ? Math.Min(k.BytesMoved, modelBytes * k.BytesMoved / moved) : (double?)null).ToArray();
    }

    /// <summary>
    /// Per kernel of a case, with the case's <paramref name="modelBytes"/> (0: none) as their DRAM
    /// bytes (<see cref="DramShares"/>).
    /// </summary>
    public static BenchPrediction[] ForKernels(GpuSpec gpu, IReadOnlyList<EmulatorCounters> kernels, double modelBytes = 0)
    {
        var shares = DramShares(kernels, modelBytes);
        return kernels.Select((k, i) => For(gpu, k, shares[i])).ToArray();
    }

    /// <summary>A case's prediction: its kernels run one after another on one stream (<see cref="ForKernels"/> summed).</summary>
    public static BenchPrediction ForCase(GpuSpec gpu, IReadOnlyList<EmulatorCounters> kernels, double modelBytes = 0)
    {
        ArgumentNullException.ThrowIfNull(kernels);
        var each = ForKernels(gpu, kernels, modelBytes);
        if (each.Length == 0)
        {
            return new BenchPrediction(gpu.Key, null, 0, "launch", 0, 0, 0, 0);
        }
        var slowest = each.MaxBy(p => p.Ms - p.LaunchMs)!;
        return new BenchPrediction(gpu.Key, null, each.Sum(p => p.Ms), slowest.Bound,
            each.Sum(p => p.MemoryMs), each.Sum(p => p.TensorMs), each.Sum(p => p.IssueMs), each.Sum(p => p.LaunchMs));
    }
}
