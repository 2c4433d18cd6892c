// SelfAttentionKernel: the one place the model picks its self-attention kernel. Dense runs the
// flash `attention` op; SLA predicts a block map (mean-pooled Q, smoothed K, top-k per query
// block) and runs `block_sparse_attention` over it: the SLA of a checkpoint without trained
// proj_l weights, whose linear branch is exactly zero. Sage needs the cache's K quantized with a
// fresh smoothing mean on every read, which no op here does yet: it is refused by name.
using Zoetrope.Attention;
using Zoetrope.Attention.Flash;
using Zoetrope.Attention.Sparse;

namespace Zoetrope.Engine;

/// <summary>Runs self-attention for the model with the configured kernel.</summary>
public sealed class SelfAttentionKernel
{
    private readonly ModelOptions _options;

    /// <summary>Checks that <paramref name="options"/> name a kernel the engine can run.</summary>
    /// <exception cref="NotSupportedException">Sage attention (see the remarks in the source).</exception>
    public SelfAttentionKernel(ModelOptions options)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        if (options.Attention == AttentionMode.Sage)
        {
            throw new NotSupportedException(
                "engine: --attention sage needs the cached K re-quantized (INT8, smoothed per read) on every step; the engine has no such op yet. Use dense or sla.");
        }
        if (options.Attention == AttentionMode.Sla && !(options.SparseRatio > 0 && options.SparseRatio <= 1))
        {
            throw new ArgumentException($"engine: SLA ratio {options.SparseRatio} must be in (0, 1]");
        }
    }

    /// <summary>o = attention(q, k, v) over NHD tensors [1, N, H, D] under <paramref name="mask"/>.</summary>
    public void Run(Tensor q, Tensor k, Tensor v, Tensor o, AttentionMask mask)
    {
        if (_options.Attention == AttentionMode.Sla)
        {
            var blocks = SparseBlocks.Default;
            using var map = BlockMap.Run(q, k, HeadLayout.Nhd, mask, blocks, BlockSelection.TopK(_options.SparseRatio));
            BlockSparseAttention.Run(q, k, v, map, o, HeadLayout.Nhd, mask, blocks);
            return;
        }
        Zoetrope.Attention.Flash.Attention.Run(q, k, v, o, HeadLayout.Nhd, mask);
    }
}
