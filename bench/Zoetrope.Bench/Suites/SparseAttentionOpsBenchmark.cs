using BenchmarkDotNet.Attributes;

namespace Zoetrope.Bench.Suites;

/// <summary>
/// Attention II: block_map, block_sparse_attention (dense bf16 and Sage FP8), linear_attention and
/// sla at SLA's setup (B=2, H=16, N=32,760, D=128) at 90% and 95% sparsity, and Wan's block-causal
/// stream. TFLOPS of the sparse ops are dense-equivalent (the cost model counts every visible pair),
/// as SLA reports them; block_map is its own row, to be added for "prediction included" figures.
/// Compare with attention's rows of the same shape (Attention suite) for the speedup.
/// </summary>
[MemoryDiagnoser]
public class SparseAttentionOpsBenchmark : OpBenchmarkBase
{
    /// <inheritdoc />
    protected override string Suite => "sparse";
}
