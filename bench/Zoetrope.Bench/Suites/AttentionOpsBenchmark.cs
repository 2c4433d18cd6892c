using BenchmarkDotNet.Attributes;

namespace Zoetrope.Bench.Suites;

/// <summary>
/// Dense flash attention and SageAttention: SageAttention's setup (B=4, H=32, D=128, N 1K..32K,
/// plain and causal) and Wan-1.3B's block-causal stream (Nq=4680 against 1, 4 and 7 blocks).
/// TOPS = 4 * B * H * visible pairs * D / time, the cost model of both ops. The Sage quantization
/// itself is timed as qk_norm_rope_int8 in the Rope suite: run both for "included" figures.
/// sage_quantize (Sage INT8 of an already-rotated q or k, as sla precision=sage runs it) has its own
/// rows here: q (32-row scales) and smoothed k at SLA's setup and Wan's stream (GB/s is the figure).
/// </summary>
[MemoryDiagnoser]
public class AttentionOpsBenchmark : OpBenchmarkBase
{
    /// <inheritdoc />
    protected override string Suite => "attention";
}
