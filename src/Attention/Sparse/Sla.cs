// sla: Sparse-Linear Attention. O = O_sparse + proj_l(O_linear).
//
//   O_sparse  block_sparse_attention over the LUT's key blocks (dense precision, the mask applies)
//   O_linear  per query block qb: phi(q) S_qb / (phi(q) . z_qb + 1e-5), with S_qb, z_qb summed over
//             the linear key blocks of qb: every candidate block (variant AllKeys, SLA's main form)
//             or the candidates the LUT does not list (variant Complement, SLA-1: each key is in
//             exactly one branch). The linear branch works at block granularity: a candidate block
//             enters whole, keys the mask hides inside it included (exact for no mask and for
//             block-causal masks whose blocks are multiples of BlockK and BlockQ).
//   proj_l    o_lin W^T + bias, W [D, D] (out, in), bias [D], f32 (zero-initialised in training)
// The linear branch is computed first into an f32 residual, which the flash kernel adds to O
// before rounding (LutKeys), so with W = 0 and no bias sla is block_sparse_attention bit for bit.
// precision=sage (SageSLA, TurboDiffusion's form): q and k are quantized by sage_quantize (q with
// sm_scale * log2(e) folded, 32-row scales; k smoothed, 64-row scales) into pooled workspaces and
// the sparse branch is block_sparse_attention's Sage kernel (P.V in fp16 or fp8, pv=) adding the
// same residual; the linear branch still reads the unquantized q and k. With W = 0 and no bias it
// is then block_sparse_attention precision=sage-* over sage_quantize's outputs, bit for bit. The
// oracle is the emulation: the block-sparse Sage oracle over sage_quantize's (bit-exact) codes.
// S_qb comes from an inclusive prefix over key blocks (LinearEngine with segments of BlockK, chunked):
// each run of linear blocks is one difference of prefixes (both paths: for Complement, runs of the
// candidates the LUT does not list), so the cost per query block is O(runs) states, not O(key blocks).
// ILGPU and CUDA (kernels/attention/sla.cu) share the design: the state per query block built in
// shared memory by the kernel that applies it (LinearKernel / sla_linear), the projection as a
// tiled product (ProjKernel / sla_proj), then the block-sparse kernel adding the residual.
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Zoetrope.Attention.Flash;
using Zoetrope.Runtime;
using Zoetrope.Runtime.KernelMath;
using Zoetrope.Runtime.Native;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Sparse;

/// <summary>Which keys SLA's linear branch covers.</summary>
public enum SlaVariant
{
    /// <summary>Every candidate key block (SLA).</summary>
    AllKeys = 0,

    /// <summary>The candidate key blocks the sparse branch does not take (SLA-1).</summary>
    Complement = 1,
}

/// <summary>The arithmetic of SLA's sparse branch.</summary>
public enum SlaPrecision
{
    /// <summary>block_sparse_attention's dense kernel over q, k as given.</summary>
    Dense = 0,

    /// <summary>SageSLA: q, k quantized to INT8 by sage_quantize, block_sparse_attention's Sage kernel.</summary>
    Sage = 1,
}

/// <summary>Sparse-Linear Attention.</summary>
[Op("sla", Cases = typeof(SlaCases), Summary = "Sparse-Linear Attention: block-sparse flash over the LUT + proj(linear attention over all or the complementary blocks)")]
public sealed partial class Sla : IOp<Sla.Params>
{
    /// <summary>Parameters.</summary>
    /// <param name="DType">Type of q, k, v and o.</param>
    /// <param name="Geometry">Extents, layout and mask.</param>
    /// <param name="Blocks">Block sizes of the LUT.</param>
    /// <param name="Phi">The linear branch's feature map.</param>
    /// <param name="Variant">The linear branch's keys.</param>
    /// <param name="Bias">Whether proj_l has a bias.</param>
    /// <param name="Density">The fraction of key blocks a generated test LUT selects (inputs only).</param>
    /// <param name="Precision">The sparse branch's arithmetic.</param>
    /// <param name="Pv">Sage: P·V precision.</param>
    public readonly record struct Params(DType DType, AttentionGeometry Geometry, SparseBlocks Blocks, FeatureMap Phi = FeatureMap.Softmax,
        SlaVariant Variant = SlaVariant.AllKeys, bool Bias = true, double Density = 0.5, SlaPrecision Precision = SlaPrecision.Dense,
        SagePv Pv = SagePv.Fp8) : IOpParams
    {
        /// <summary>The sparse branch (over sage_quantize's int8 q, k and their scales for precision=sage).</summary>
        public BlockSparseAttention.Params Sparse => new(DType, Geometry, Blocks,
            Precision == SlaPrecision.Dense ? SparsePrecision.Dense : Pv == SagePv.Fp8 ? SparsePrecision.SageFp8 : SparsePrecision.SageFp16, SageQRows, Density);

        /// <summary>sage_quantize of q: sm_scale * log2(e) folded, <see cref="SageQRows"/> rows per scale.</summary>
        public SageQuantize.Params QuantQ => SageQuantize.Params.Query(DType, Geometry.Batch, Geometry.Heads, Geometry.QLen, Geometry.HeadDim, Geometry.Layout, SageQRows);

        /// <summary>sage_quantize of k: smoothed, 64 rows per scale.</summary>
        public SageQuantize.Params QuantK => SageQuantize.Params.Key(DType, Geometry.Batch, Geometry.KvHeads, Geometry.KvLen, Geometry.HeadDim, Geometry.Layout);

        /// <inheritdoc />
        public string Label => FormattableString.Invariant(
            $"{Sparse.Label} phi={Phi.ToString().ToLowerInvariant()} {(Variant == SlaVariant.AllKeys ? "all" : "complement")}{(Bias ? " bias" : string.Empty)}");
    }

    /// <summary>Query rows per Q scale of precision=sage: one per warp (SageAttention2's granularity, block_sparse_attention's default).</summary>
    public const int SageQRows = 32;

    /// <summary>Runs SLA on the backend of <paramref name="q"/>; <paramref name="bias"/> may be null.</summary>
    public static void Run(Tensor q, Tensor k, Tensor v, BlockMap.Result map, Tensor proj, Tensor? bias, Tensor o, HeadLayout layout, AttentionMask mask,
        SparseBlocks blocks, FeatureMap phi = FeatureMap.Softmax, SlaVariant variant = SlaVariant.AllKeys, SlaPrecision precision = SlaPrecision.Dense,
        SagePv pv = SagePv.Fp8)
    {
        ArgumentNullException.ThrowIfNull(map);
        var g = AttentionGeometry.Of("sla", q, k, v, layout, mask);
        var tensors = new OpTensors { { "q", q }, { "k", k }, { "v", v }, { "lut", map.Lut }, { "counts", map.Counts }, { "proj", proj }, { "o", o } };
        if (bias is not null)
        {
            tensors.Add("bias", bias);
        }
        Info.Run(q.Backend, new Params(q.DType, g, blocks, phi, variant, bias is not null, Precision: precision, Pv: pv), tensors);
    }

    /// <inheritdoc />
    public static OpSignature Signature(Params p)
    {
        var g = p.Geometry;
        if (p.Precision == SlaPrecision.Sage)
        {
            CheckSage(p);
        }
        // q, k, v and o in DType for both precisions: Sage's int8 operands are the op's own workspaces.
        var s = BlockSparseAttention.Signature(p.Sparse with { Precision = SparsePrecision.Dense })
            .In("proj", DType.F32, new Shape(g.HeadDim, g.HeadDim), InitSpec.Gaussian(0, 0.1));
        return p.Bias ? s.In("bias", DType.F32, new Shape(g.HeadDim), InitSpec.Gaussian(0, 0.1)) : s;
    }

    /// <summary>precision=sage's limits (those of sage_attention), named for sla.</summary>
    private static void CheckSage(Params p)
    {
        if (p.DType != DType.F16 && p.DType != DType.BF16)
        {
            throw new ArgumentException($"sla precision=sage: q, k, v and o are {p.DType.Name()}; expected f16 or bf16 (Sage quantizes q, k to int8 and runs P.V in v's 16-bit type)", nameof(p));
        }
        if (p.Geometry.HeadDim > 128)
        {
            throw new ArgumentException($"sla precision=sage: head dim {p.Geometry.HeadDim}; expected at most 128 (SageAttention's limit)", nameof(p));
        }
    }

    /// <inheritdoc />
    public static OpCost Cost(Params p)
    {
        var g = p.Geometry;
        var sparse = BlockSparseAttention.Cost(p.Sparse with { Precision = SparsePrecision.Dense });
        double d = g.HeadDim;
        double linear = (2.0 * g.Batch * g.KvHeads * g.KvLen * d * (d + 1)) + (4.0 * g.Batch * g.Heads * g.QLen * d * d);
        if (p.Precision == SlaPrecision.Sage)
        {
            // The quantization reads q and k once more and writes their int8 codes.
            var qq = SageQuantize.Cost(p.QuantQ);
            var qk = SageQuantize.Cost(p.QuantK);
            return new(sparse.Flops + linear + qq.Flops + qk.Flops, sparse.Bytes + qq.Bytes + qk.Bytes);
        }
        return new(sparse.Flops + linear, sparse.Bytes);
    }

    /// <inheritdoc />
    public static Params Bind(OpBinding binding)
    {
        var g = AttentionGeometry.Of(binding);
        var blocks = BlockSparseAttention.Blocks(binding);
        BlockSparseAttention.CheckLut(binding, g, blocks);
        var variant = binding.Get(VariantAttr) == "complement" ? SlaVariant.Complement : SlaVariant.AllKeys;
        var proj = binding.Input("proj");
        if (proj.DType != DType.F32 || !proj.Shape.Equals(new Shape(g.HeadDim, g.HeadDim)))
        {
            throw new ArgumentException($"sla: proj '{proj.Name}' is {proj.DType.Name()} {proj.Shape}; expected f32 [{g.HeadDim}, {g.HeadDim}]", "proj");
        }
        var precision = binding.Get(PrecisionAttr) == "sage" ? SlaPrecision.Sage : SlaPrecision.Dense;
        var pv = binding.Get(SageAttention.PvAttr) == "fp16" ? SagePv.Fp16 : SagePv.Fp8;
        var p = new Params(binding.Input("q").DType, g, blocks, LinearAttention.ParsePhi(binding), variant, binding.Has("bias"), Precision: precision, Pv: pv);
        if (precision == SlaPrecision.Sage)
        {
            CheckSage(p);
        }
        return p;
    }

    /// <summary>precision=dense|sage: the sparse branch's arithmetic.</summary>
    private static OpAttr<string> PrecisionAttr { get; } = OpAttr.Choice("precision", "dense",
        "sparse branch: dense (q, k as given) or sage (q, k quantized to int8 by sage_quantize; P.V per pv=)", "dense", "sage");

    /// <summary>variant=all|complement: which keys the linear branch sums.</summary>
    private static OpAttr<string> VariantAttr { get; } = OpAttr.Choice("variant", "all", "keys of the linear branch: all, or the complement of the selected blocks", "all", "complement");

    /// <inheritdoc />
    public static OpAttributes Attributes { get; } = AttentionGeometry.Attributes.With(BlockSparseAttention.BlockQAttr, BlockSparseAttention.BlockKAttr, LinearAttention.PhiAttr, VariantAttr,
        PrecisionAttr, SageAttention.PvAttr);

    /// <inheritdoc />
    public static OpAttributeValues AttributesOf(Params p) => p.Geometry.Describe(new())
        .Set(BlockSparseAttention.BlockQAttr, p.Blocks.BlockQ).Set(BlockSparseAttention.BlockKAttr, p.Blocks.BlockK)
        .Set(LinearAttention.PhiAttr, LinearAttention.PhiText(p.Phi)).Set(VariantAttr, p.Variant == SlaVariant.Complement ? "complement" : "all")
        .Set(PrecisionAttr, p.Precision == SlaPrecision.Sage ? "sage" : "dense").Set(SageAttention.PvAttr, p.Pv == SagePv.Fp16 ? "fp16" : "fp8");

    /// <summary>
    /// The oracle from the definitions: attention's oracle over the LUT (precision=sage: the block-sparse
    /// Sage emulation over sage_quantize's codes and scales) plus the projected linear branch summed key by key.
    /// </summary>
    public static void Reference(Params p, OpTensors t)
    {
        var g = p.Geometry;
        var blocks = p.Blocks;
        int d = g.HeadDim, qBlocks = blocks.QBlocks(g), kBlocks = blocks.KBlocks(g);
        var lut = t.Read("lut");
        var counts = t.Read("counts");
        var bitmap = blocks.Bitmap("sla", g, lut, counts);
        var o = p.Precision == SlaPrecision.Sage
            ? SageSparseReference(p, t)
            : Flash.Attention.ReferenceOutputs(p.Sparse.Dense, t, BlockSparseAttention.Filter(g, blocks, "sla", lut, counts)).O;
        var pq = LinearEngine.PhiRows(p.Phi, t.Read("q"), g.QStrides, g.Batch, g.Heads, g.QLen, d);
        var pk = LinearEngine.PhiRows(p.Phi, t.Read("k"), g.KvStrides, g.Batch, g.KvHeads, g.KvLen, d);
        var v = t.Read("v");
        var w = t.Read("proj");
        var bias = p.Bias ? t.Read("bias") : new double[d];
        var s = new double[d * d];
        var z = new double[d];
        var lin = new double[d];
        for (int b = 0; b < g.Batch; b++)
        {
            for (int h = 0; h < g.Heads; h++)
            {
                long bhkv = ((long)b * g.KvHeads) + (h / g.Group);
                for (int qb = 0; qb < qBlocks; qb++)
                {
                    Array.Clear(s);
                    Array.Clear(z);
                    long row = ((((long)b * g.Heads) + h) * qBlocks) + qb;
                    for (int kb = 0; kb < kBlocks; kb++)
                    {
                        bool linear = SparseBlocks.Candidate(g.Mask, g.QOffset, g.QLen, g.KvLen, blocks.BlockQ, blocks.BlockK, qb, kb)
                            && (p.Variant == SlaVariant.AllKeys || !bitmap[(row * kBlocks) + kb]);
                        for (long j = (long)kb * blocks.BlockK; linear && j < Math.Min(g.KvLen, (long)(kb + 1) * blocks.BlockK); j++)
                        {
                            long kAt = ((bhkv * g.KvLen) + j) * d;
                            for (int d1 = 0; d1 < d; d1++)
                            {
                                z[d1] += pk[kAt + d1];
                                for (int d2 = 0; d2 < d; d2++)
                                {
                                    s[(d1 * d) + d2] += pk[kAt + d1] * v[g.KvStrides.Of(b, h / g.Group, j) + d2];
                                }
                            }
                        }
                    }
                    for (long i = (long)qb * blocks.BlockQ; i < Math.Min(g.QLen, (long)(qb + 1) * blocks.BlockQ); i++)
                    {
                        LinearAttention.Apply(pq.AsSpan((int)(((((long)b * g.Heads) + h) * g.QLen + i) * d), d), s, z, lin);
                        long at = g.QStrides.Of(b, h, i);
                        for (int c = 0; c < d; c++)
                        {
                            o[at + c] += bias[c] + AttentionReference.Dot(w, (long)c * d, lin, 0, d);
                        }
                    }
                }
            }
        }
        t.Write("o", o);
    }

    /// <summary>The sparse branch of precision=sage: block_sparse_attention's Sage oracle over sage_quantize's oracle outputs, unrounded.</summary>
    private static double[] SageSparseReference(Params p, OpTensors t)
    {
        var g = p.Geometry;
        var sp = p.Sparse;
        var (q, qScale, _) = SageQuantize.Quantize(p.QuantQ, t.Read("q"));
        var (k, kScale, _) = SageQuantize.Quantize(p.QuantK, t.Read("k"));
        var owned = new List<Tensor>
        {
            Tensor.FromDoubles(q, DType.I8, g.Q, "q_i8"),
            Tensor.FromDoubles(qScale, DType.F32, sp.Sage.QScaleShape, "q_scale"),
            Tensor.FromDoubles(k, DType.I8, g.Kv, "k_i8"),
            Tensor.FromDoubles(kScale, DType.F32, sp.Sage.KScaleShape, "k_scale"),
            Tensor.FromDoubles(new double[g.Q.ElementCount], DType.F64, g.Q, "o_sparse"),  // f64: the residual is added before o's rounding
        };
        try
        {
            var sage = new OpTensors
            {
                { "q", owned[0] }, { "q_scale", owned[1] }, { "k", owned[2] }, { "k_scale", owned[3] }, { "v", t["v"] },
                { "lut", t["lut"] }, { "counts", t["counts"] }, { "o", owned[4] },
            };
            BlockSparseAttention.Reference(sp, sage);
            return owned[4].ToDoubles();
        }
        finally
        {
            owned.ForEach(x => x.Dispose());
        }
    }

    /// <summary>ILGPU: the linear passes into an f32 residual, then block_sparse_attention's kernel adding it (precision=sage: its Sage kernel over sage_quantize's outputs).</summary>
    [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
    internal static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t) => FloatTypes.Visit(p.DType, new Launcher(backend, p, t));

    /// <summary>CUDA: kernels/attention/sla.cu.</summary>
    [CudaKernel("sm_80", "sla_mma_sm80", "precision=dense: the sparse branch")]
    [CudaKernel("sm_80", "sla_sage_mma_sm80", "precision=sage: the sparse branch")]
    [CudaKernel("sm_90", "sla_sm90_<dtype>_d<D>", "precision=dense, block_q a multiple of 128, D 64 or 128, 16-byte-aligned q, k, v")]
    [CudaKernel("sm_90", "sla_sage_sm90_<dtype>_d<D>_<pv>", "precision=sage, block_q a multiple of 128")]
    [RunsOn(BackendKind.Cuda)]
    internal static void Cuda(CudaBackend backend, Params p, OpTensors t)
    {
        var g = p.Geometry;
        var blocks = p.Blocks;
        if (p.DType == DType.F32)
        {
            throw new NotSupportedException("sla on the cuda backend takes f16 or bf16 (its tensor-core kernel has no f32 path); use ilgpu-cuda for f32");
        }
        bool sage = p.Precision == SlaPrecision.Sage, fp8 = sage && p.Pv == SagePv.Fp8;
        var s = p.Sparse.Sage;
        long qScales = sage ? s.QScaleShape.ElementCount : 0, kScales = sage ? s.KScaleShape.ElementCount : 0, channels = sage ? s.ChannelShape.ElementCount : 0;
        long vCodes = fp8 ? SageAttention.VCodeCount(g) : 0;
        using var work = backend.Workspaces.Rent(DType.F32, new Shape(WorkFloats(p)), "sla_work");
        // precision=sage: zt_sla quantizes q and k into these (sage_quantize's kernels) and runs the Sage kernel over them.
        using var qCodes = sage ? backend.Workspaces.Rent(DType.I8, new Shape(g.Q.ElementCount), "q_i8") : null;
        using var qScale = sage ? backend.Workspaces.Rent(DType.F32, new Shape(qScales), "q_scale") : null;
        using var kCodes = sage ? backend.Workspaces.Rent(DType.I8, new Shape(g.Kv.ElementCount), "k_i8") : null;
        using var kScale = sage ? backend.Workspaces.Rent(DType.F32, new Shape(kScales), "k_scale") : null;
        using var kMean = sage ? backend.Workspaces.Rent(DType.F32, new Shape(channels), "k_mean") : null;
        using var vFp8 = fp8 ? backend.Workspaces.Rent(DType.U8, new Shape(vCodes), "v_fp8") : null;
        using var vScale = fp8 ? backend.Workspaces.Rent(DType.F32, new Shape(channels), "v_scale") : null;
        ZtNative.Sla(backend, p.DType, g.Batch, g.Heads, g.KvHeads, g.QLen, g.KvLen, g.HeadDim, (int)g.Layout,
            g.Mask.KindCode, g.Mask.BlockTokens, g.Mask.WindowBlocks, g.Mask.SinkBlocks, blocks.BlockQ, blocks.BlockK, (int)p.Phi, (int)p.Variant,
            (int)p.Precision, (int)p.Pv, SageQRows, g.DefaultScale,
            g.Q.ElementCount, g.Kv.ElementCount, blocks.LutShape(g).ElementCount, blocks.CountShape(g).ElementCount, (long)g.HeadDim * g.HeadDim, p.Bias ? g.HeadDim : 0,
            work.ElementCount, qScales, kScales, channels, vCodes,
            Flash.Attention.Flat(t["q"]), Flash.Attention.Flat(t["k"]), Flash.Attention.Flat(t["v"]), Flash.Attention.Flat(t["lut"]),
            Flash.Attention.Flat(t["counts"]), Flash.Attention.Flat(t["proj"]), p.Bias ? Flash.Attention.Flat(t["bias"]) : null, work,
            qCodes, qScale, kCodes, kScale, kMean, vFp8, vScale, Flash.Attention.Flat(t["o"]));
        OpNotes.RecordNativeKernel("sla");  // the sparse branch's kernel (dense or Sage)
    }

    /// <summary>
    /// The f32 workspace of the CUDA path (zt_sparse.h's zt_sla): phi(q), phi(k), the key-block
    /// prefix (chunk-local prefix and carry), o_lin and the residual; precision=sage adds, from the
    /// next even float, k's mean chunk sums as doubles (sage_quantize's work). The per-query-block
    /// states live in shared memory only (sla.cu's sla_linear).
    /// </summary>
    public static long WorkFloats(Params p)
    {
        var g = p.Geometry;
        long dense = (3 * g.Q.ElementCount) + g.Kv.ElementCount + LinearAttention.PrefixFloats(g, p.Blocks.BlockK);
        return p.Precision == SlaPrecision.Sage ? dense + (dense & 1) + SageQuantize.PartialFloats(p.QuantK) : dense;
    }

    /// <summary>The scalars of the SLA passes (blittable).</summary>
    internal readonly struct SlaArgs
    {
        /// <summary>Block grid and variant.</summary>
        public readonly int BlockQ, BlockK, QBlocks, KBlocks, Variant, HasBias;

        /// <summary>The mask.</summary>
        public readonly AttentionMask Mask;

        /// <summary>From parameters.</summary>
        public SlaArgs(Params p)
        {
            var g = p.Geometry;
            (BlockQ, BlockK, QBlocks, KBlocks) = (p.Blocks.BlockQ, p.Blocks.BlockK, p.Blocks.QBlocks(g), p.Blocks.KBlocks(g));
            (Variant, HasBias, Mask) = ((int)p.Variant, p.Bias ? 1 : 0, g.Mask);
        }
    }

    /// <summary>
    /// Group (column tile, query block, b * heads + h) of 256 threads, the state and the linear output
    /// fused: the LUT's blocks as bits (Complement), then per window of 32 key blocks threads 0..33
    /// flag the linear blocks (candidates, less the listed ones for Complement), thread 0 turns the
    /// flags into prefix terms (a run [s, e] of linear blocks is P[e] - P[s - 1]), and every thread
    /// adds the terms to its elements of the slice S[:, columns] and z in shared memory (coalesced
    /// prefix reads); then the block's rows phi(q) S / (phi(q) . z + eps) by LinearEngine.GemmRows
    /// into o_lin [B, H, Nq, D]. The state never leaves shared memory, and the candidate test runs
    /// once per key block per group. Complement runs over the remaining blocks (as sla.cu does) instead
    /// of subtracting each listed block's difference: when the LUT takes every candidate the state is
    /// exactly zero (o_lin 0, as the oracle), not the rounding left by P[e] - P[s - 1] - sum(P[kb] - P[kb - 1]),
    /// which phi(q) S / (phi(q) . z + eps) turns into a ratio of two rounding errors.
    /// </summary>
    [IlgpuKernel]
    internal static void LinearKernel(LinearEngine.Args a, SlaArgs s, ArrayView<int> lut, ArrayView<int> counts, ArrayView<float> prefix, ArrayView<float> phiQ,
        ArrayView<float> lin)
    {
        const int tile = LinearEngine.Tile, window = FlashEngine.Lanes;
        var sb = SharedMemory.Allocate<float>(LinearEngine.SliceFloats);
        var sz = SharedMemory.Allocate<float>(LinearEngine.MaxHeadDim);
        var sa = SharedMemory.Allocate<float>(LinearEngine.RowStageFloats);
        var sden = SharedMemory.Allocate<float>(tile);
        var flags = SharedMemory.Allocate<int>(window + 2);  // linear blocks among kb0 - 1 .. kb0 + 32
        var terms = SharedMemory.Allocate<int>(2 * window);  // t > 0 adds P[t - 1], t < 0 subtracts P[-t - 1]
        var nTerms = SharedMemory.Allocate<int>(1);
        var listed = SharedMemory.Allocate<int>(SparseBlocks.MaxKeyBlocks / 32);  // Complement: the LUT's blocks as bits
        int d = a.HeadDim, c0 = Grid.IdxX * tile, qb = Grid.IdxY, tid = Group.IdxX;
        long bh = Grid.IdxZ, row = (bh * s.QBlocks) + qb;
        int b = (int)(bh / a.Heads);
        int h = (int)(bh - ((long)b * a.Heads));
        long bhkv = ((long)b * a.KvHeads) + (h / a.Group);
        long qOffset = (long)a.KvLen - a.QLen;
        // This thread's elements of the slice: idx < D * 64 is S[idx / 64][c0 + idx % 64], the rest z.
        int slice = (d * tile) + d;
        for (int idx = tid; idx < slice; idx += LinearEngine.Threads)
        {
            Slice(sb, sz, d, idx, 0f);
        }
        int words = (s.KBlocks + 31) / 32;
        for (int i = tid; i < words; i += LinearEngine.Threads)
        {
            listed[i] = 0;
        }
        Group.Barrier();
        int nSel = s.Variant == (int)SlaVariant.Complement ? counts[row] : 0;
        for (int j = tid; j < nSel; j += LinearEngine.Threads)
        {
            int kb = lut[(row * s.KBlocks) + j];
            if (kb >= 0 && kb < s.KBlocks)
            {
                Atomic.Or(ref listed[kb >> 5], 1 << (kb & 31));
            }
        }
        Group.Barrier();
        for (int w = 0; w < words; w++)
        {
            if (tid < window + 2)
            {
                // A linear block: a candidate the LUT does not list (Complement) or any candidate.
                int kb = (w * window) + tid - 1;
                flags[tid] = kb >= 0 && kb < s.KBlocks && ((listed[kb >> 5] >> (kb & 31)) & 1) == 0
                    && SparseBlocks.Candidate(s.Mask, qOffset, a.QLen, a.KvLen, s.BlockQ, s.BlockK, qb, kb) ? 1 : 0;
            }
            Group.Barrier();
            if (tid == 0)
            {
                // Subtractions first, then additions, each in block order (as sla.cu's ballot).
                int n = 0;
                for (int pass = 0; pass < 2; pass++)
                {
                    for (int l = 0; l < window; l++)
                    {
                        int kb = (w * window) + l;
                        bool linear = flags[l + 1] != 0, before = flags[l] != 0, after = flags[l + 2] != 0;
                        int term = pass == 0 ? (linear && !before && kb > 0 ? -kb : 0) : (linear && !after ? kb + 1 : 0);
                        if (term != 0)
                        {
                            terms[n++] = term;
                        }
                    }
                }
                nTerms[0] = n;
            }
            Group.Barrier();
            int count = nTerms[0];
            for (int idx = tid; idx < slice && count > 0; idx += LinearEngine.Threads)
            {
                long e = idx < d * tile ? (c0 + (idx % tile) < d ? ((long)(idx / tile) * d) + c0 + (idx % tile) : -1) : ((long)d * d) + idx - (d * tile);
                if (e >= 0)
                {
                    float sum = Slice(sb, sz, d, idx);
                    for (int k = 0; k < count; k++)
                    {
                        int x = terms[k];
                        float pv = LinearEngine.PrefixAt(a, prefix, bhkv, x > 0 ? x - 1 : -x - 1, e);
                        sum += x > 0 ? pv : -pv;
                    }
                    Slice(sb, sz, d, idx, sum);
                }
            }
            Group.Barrier();
        }
        long r0 = (long)qb * s.BlockQ, r1 = XMath.Min(r0 + s.BlockQ, (long)a.QLen);
        LinearEngine.GemmRows(phiQ.SubView(bh * a.QLen * d), r0, r1, d, c0, true, sb, sz, sa, sden, new LinSink(lin.SubView(bh * a.QLen * d), d));
    }

    /// <summary>Element idx of the group's state slice (see LinearKernel).</summary>
    private static float Slice(ArrayView<float> sb, ArrayView<float> sz, int d, int idx) =>
        idx < d * LinearEngine.Tile ? sb[((idx / LinearEngine.Tile) * LinearEngine.Pad) + (idx % LinearEngine.Tile)] : sz[idx - (d * LinearEngine.Tile)];

    /// <summary>Sets element idx of the group's state slice.</summary>
    private static void Slice(ArrayView<float> sb, ArrayView<float> sz, int d, int idx, float value)
    {
        if (idx < d * LinearEngine.Tile)
        {
            sb[((idx / LinearEngine.Tile) * LinearEngine.Pad) + (idx % LinearEngine.Tile)] = value;
        }
        else
        {
            sz[idx - (d * LinearEngine.Tile)] = value;
        }
    }

    /// <summary>o_lin rows of one (b, h), contiguous [Nq, D].</summary>
    private readonly struct LinSink(ArrayView<float> lin, int d) : IRowSink
    {
        public void Put(long row, int col, float value) => lin[(row * d) + col] = value;
    }

    /// <summary>residual (q's layout) = value + bias.</summary>
    private readonly struct ResidualSink(ArrayView<float> residual, HeadStrides st, int b, int h, ArrayView<float> bias, int hasBias) : IRowSink
    {
        public void Put(long row, int col, float value) => residual[st.Of(b, h, row) + col] = value + (hasBias != 0 ? bias[col] : 0f);
    }

    /// <summary>
    /// Group (column tile, 64-row tile of Nq, b * heads + h) of 256 threads: residual = o_lin W^T + bias,
    /// W^T's 64-column slice staged once per group (a warp reads 32 consecutive floats of a W row; the
    /// padded stride makes the transposed shared stores conflict-free), then LinearEngine.GemmRows.
    /// </summary>
    [IlgpuKernel]
    internal static void ProjKernel(LinearEngine.Args a, SlaArgs s, ArrayView<float> lin, ArrayView<float> w, ArrayView<float> bias, ArrayView<float> residual)
    {
        const int tile = LinearEngine.Tile;
        var sb = SharedMemory.Allocate<float>(LinearEngine.SliceFloats);
        var sa = SharedMemory.Allocate<float>(LinearEngine.RowStageFloats);
        var sden = SharedMemory.Allocate<float>(tile);
        int d = a.HeadDim, c0 = Grid.IdxX * tile;
        long bh = Grid.IdxZ, r0 = (long)Grid.IdxY * tile;
        int b = (int)(bh / a.Heads);
        int h = (int)(bh - ((long)b * a.Heads));
        for (int idx = Group.IdxX; idx < d * tile; idx += LinearEngine.Threads)
        {
            int c = idx / d, k = idx % d;
            sb[(k * LinearEngine.Pad) + c] = c0 + c < d ? w[((long)(c0 + c) * d) + k] : 0f;
        }
        Group.Barrier();
        LinearEngine.GemmRows(lin.SubView(bh * a.QLen * d), r0, XMath.Min(r0 + tile, (long)a.QLen), d, c0, false, sb, sden, sa, sden,
            new ResidualSink(residual, a.Q, b, h, bias, s.HasBias));
    }

    private readonly struct Launcher(IlgpuBackend backend, Params p, OpTensors t) : IFloatTypeVisitor
    {
        public void Visit<T, TCodec>()
            where T : unmanaged
            where TCodec : struct, IElementCodec<T>
        {
            var g = p.Geometry;
            if (g.Q.ElementCount == 0)
            {
                return;
            }
            var a = new LinearEngine.Args(g, p.Phi, p.Blocks.BlockK);
            var s = new SlaArgs(p);
            long rows = (long)g.Batch * g.Heads * s.QBlocks;
            using var unused = backend.Workspaces.Rent(DType.F32, new Shape(1), "unused");
            using var prefix = backend.Workspaces.Rent(DType.F32, new Shape(a.PrefixFloats), "sla_prefix");
            using var phiQ = backend.Workspaces.Rent(DType.F32, new Shape(g.Q.ElementCount), "phi_q");
            using var lin = backend.Workspaces.Rent(DType.F32, new Shape(g.Q.ElementCount), "o_linear");
            using var residual = backend.Workspaces.Rent(DType.F32, new Shape(g.Q.ElementCount), "residual");
            LinearAttention.Prefix<T, TCodec>(backend, a, t, prefix, null, null);
            LinearAttention.Phi<T, TCodec>(backend, a, t["q"], g.QStrides, g.Heads, g.QLen, phiQ);
            var group = new Index3D(LinearEngine.Threads, 1, 1);
            int colTiles = LinearAttention.ColTiles(a);
            var linear = backend.Kernel(LinearKernel, acc =>
                acc.LoadStreamKernel<LinearEngine.Args, SlaArgs, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(LinearKernel));
            linear(new KernelConfig(new Index3D(colTiles, s.QBlocks, g.Batch * g.Heads), group), a, s, backend.View<int>(t["lut"]), backend.View<int>(t["counts"]),
                backend.View<float>(prefix), backend.View<float>(phiQ), backend.View<float>(lin));
            var proj = backend.Kernel(ProjKernel, acc =>
                acc.LoadStreamKernel<LinearEngine.Args, SlaArgs, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(ProjKernel));
            proj(new KernelConfig(new Index3D(colTiles, (g.QLen + LinearEngine.Tile - 1) / LinearEngine.Tile, g.Batch * g.Heads), group), a, s,
                backend.View<float>(lin), backend.View<float>(t["proj"]), backend.View<float>(p.Bias ? t["bias"] : unused), backend.View<float>(residual));
            if (p.Precision == SlaPrecision.Dense)
            {
                BlockSparseAttention.Launch(backend, p.Sparse, t, LutKeys.Of(backend, g, p.Blocks, t, residual, unused), unused);
                return;
            }
            // SageSLA: sage_quantize's kernels into pooled int8 codes and scales, then the Sage kernel with the residual.
            var sp = p.Sparse;
            using var qCodes = backend.Workspaces.Rent(DType.I8, g.Q, "q_i8");
            using var qScale = backend.Workspaces.Rent(DType.F32, sp.Sage.QScaleShape, "q_scale");
            using var kCodes = backend.Workspaces.Rent(DType.I8, g.Kv, "k_i8");
            using var kScale = backend.Workspaces.Rent(DType.F32, sp.Sage.KScaleShape, "k_scale");
            using var kMean = backend.Workspaces.Rent(DType.F32, sp.Sage.ChannelShape, "k_mean");
            SageQuantize.Launch(backend, p.QuantQ, t["q"], qCodes, qScale, null);
            SageQuantize.Launch(backend, p.QuantK, t["k"], kCodes, kScale, kMean);
            var sage = new OpTensors
            {
                { "q", qCodes }, { "q_scale", qScale }, { "k", kCodes }, { "k_scale", kScale }, { "v", t["v"] },
                { "lut", t["lut"] }, { "counts", t["counts"] }, { "o", t["o"] },
            };
            BlockSparseAttention.Launch(backend, sp, sage, LutKeys.Of(backend, g, p.Blocks, sage, residual, unused), unused);
        }
    }
}
