// SelfAttentionKernel: the one place the model picks its self-attention kernel.
//   dense    flash `attention` over the activation dtype
//   sla      SLA: a block map (mean-pooled Q, smoothed K, top-k per query block) and `sla` with
//            the layer's trained proj_l; a layer without proj_l (a checkpoint never trained with
//            SLA) has an exactly-zero linear branch, so it runs `block_sparse_attention` over
//            the same map, which `sla` equals bit for bit when W = 0 and there is no bias
//   sage-sla SageSLA (TurboDiffusion): `sla` whose sparse branch is SageAttention (INT8 Q/K
//            quantized inside the op), the linear branch over the unquantized Q/K; without
//            proj_l, sage_quantize + block-sparse Sage, which `sla` equals bit for bit at W = 0
//   sage     SageAttention over INT8 operands the QK path quantized (RunSage): Q per 128 rows,
//            K one scale per token and head, as the INT8 cache stores it
using Zoetrope.Attention;
using Zoetrope.Attention.Sparse;

namespace Zoetrope.Engine;

/// <summary>Runs self-attention for the model with the configured kernel.</summary>
internal sealed class SelfAttentionKernel
{
    private readonly ModelOptions _options;

    /// <summary>Checks that <paramref name="options"/> name a kernel the engine can run.</summary>
    /// <exception cref="ArgumentException">A sparse ratio outside (0, 1], or an INT8 cache under a kernel that reads floats.</exception>
    /// <exception cref="NotSupportedException">Sage without the fused QK path (its quantization is part of the fused op).</exception>
    public SelfAttentionKernel(ModelOptions options)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        if (options.Attention is AttentionMode.Sla or AttentionMode.SageSla && !(options.SparseRatio > 0 && options.SparseRatio <= 1))
        {
            throw new ArgumentException($"engine: sparse ratio {options.SparseRatio} must be in (0, 1]");
        }
        if (options.Attention == AttentionMode.Sage && !options.FusedQk)
        {
            throw new NotSupportedException("engine: --attention sage quantizes Q/K inside the fused qk_norm_rope_int8 op; it has no unfused path");
        }
        if (options.KvFormat == KvFormat.Int8 && options.Attention != AttentionMode.Sage)
        {
            throw new ArgumentException($"engine: an INT8 KV cache holds Sage's quantized keys; attention {options.Attention} reads float keys (use --kv {options.Activations.Name()} or --attention sage)");
        }
        if (options.Attention is AttentionMode.Sage or AttentionMode.SageSla && options.Activations is not (DType.F16 or DType.BF16))
        {
            throw new ArgumentException($"engine: --attention {(options.Attention == AttentionMode.Sage ? "sage" : "sage-sla")} multiplies P by V in f16/bf16 (or FP8); activations must be bf16 or f16, not {options.Activations.Name()}");
        }
        if (options.Attention == AttentionMode.Sage && options.KvFormat != KvFormat.Int8)
        {
            throw new ArgumentException("engine: --attention sage reads the INT8 KV cache (its keys quantized once, when written); --kv must be int8");
        }
    }

    /// <summary>The mode.</summary>
    public AttentionMode Mode => _options.Attention;

    /// <summary>Whether the kernel reads Sage's INT8 operands (<see cref="RunSage"/>) rather than floats (<see cref="Run"/>).</summary>
    public bool ReadsInt8 => _options.Attention == AttentionMode.Sage;

    /// <summary>o = attention(q, k, v) over NHD tensors [1, N, H, D] under <paramref name="mask"/>, with <paramref name="layer"/>'s SLA projection.</summary>
    public void Run(WanLayer layer, Tensor q, Tensor k, Tensor v, Tensor o, AttentionMask mask)
    {
        ArgumentNullException.ThrowIfNull(layer);
        switch (_options.Attention)
        {
            case AttentionMode.Dense:
                Zoetrope.Attention.Flash.Attention.Run(q, k, v, o, HeadLayout.Nhd, mask);
                return;
            case AttentionMode.Sla or AttentionMode.SageSla:
            {
                var blocks = SparseBlocks.Default;
                using var map = BlockMap.Run(q, k, HeadLayout.Nhd, mask, blocks, BlockSelection.TopK(_options.SparseRatio));
                if (layer.ProjL is null)
                {
                    // No trained proj_l: the linear branch adds exactly nothing, so it is not
                    // computed; `sla` with W = 0 equals its sparse branch alone bit for bit.
                    if (_options.Attention == AttentionMode.Sla)
                    {
                        BlockSparseAttention.Run(q, k, v, map, o, HeadLayout.Nhd, mask, blocks);
                    }
                    else
                    {
                        SageSparse(q, k, v, map, o, mask, blocks);
                    }
                    return;
                }
                var precision = _options.Attention == AttentionMode.SageSla ? SlaPrecision.Sage : SlaPrecision.Dense;
                Sla.Run(q, k, v, map, layer.ProjLOrZero, layer.ProjLBias, o, HeadLayout.Nhd, mask, blocks, precision: precision, pv: _options.SagePv);
                return;
            }
            default:
                throw new InvalidOperationException($"engine: attention {_options.Attention} reads INT8 operands; call RunSage");
        }
    }

    // SageSLA's sparse branch alone: q and k quantized as `sla` precision=sage quantizes them
    // (sage_quantize, q per Sla.SageQRows rows, k smoothed per 64 keys) into pooled workspaces,
    // then the block-sparse Sage kernel over the same map.
    private void SageSparse(Tensor q, Tensor k, Tensor v, BlockMap.Result map, Tensor o, AttentionMask mask, SparseBlocks blocks)
    {
        var pool = q.Backend.Workspaces;
        int heads = (int)q.Shape[2], kvHeads = (int)k.Shape[2], d = (int)q.Shape[3];
        var qp = SageQuantize.Params.Query(q.DType, 1, heads, (int)q.Shape[1], d, HeadLayout.Nhd, Sla.SageQRows);
        var kp = SageQuantize.Params.Key(k.DType, 1, kvHeads, (int)k.Shape[1], d, HeadLayout.Nhd);
        using var q8 = pool.Rent(DType.I8, qp.X, "sage_sla_q");
        using var qScale = pool.Rent(DType.F32, qp.ScaleShape, "sage_sla_q_scale");
        using var k8 = pool.Rent(DType.I8, kp.X, "sage_sla_k");
        using var kScale = pool.Rent(DType.F32, kp.ScaleShape, "sage_sla_k_scale");
        using var kMean = pool.Rent(DType.F32, kp.MeanShape, "sage_sla_k_mean");
        SageQuantize.Run(qp, q, q8, qScale, null);
        SageQuantize.Run(kp, k, k8, kScale, kMean);
        BlockSparseAttention.RunSage(q8, qScale, k8, kScale, v, map, o, HeadLayout.Nhd, mask, blocks, Sla.SageQRows, SageAttention.KRows, _options.SagePv);
    }

    /// <summary>
    /// SageAttention over INT8 operands: <paramref name="q"/> [1, N, H, D] with scales per 128 rows,
    /// <paramref name="k"/> [1, M, H, D] with one scale per token and head [1, M, H], <paramref name="v"/>
    /// [1, M, H, D] in the activation dtype; <paramref name="kMean"/> is the smoothing vector.
    /// </summary>
    public void RunSage(Tensor q, Tensor qScale, Tensor k, Tensor kScale, Tensor v, Tensor o, AttentionMask mask, Tensor kMean) =>
        SageAttention.Run(q, qScale, k, kScale, v, o, HeadLayout.Nhd, mask, SageQuery.Rows, 1, _options.SagePv, kMean);
}
