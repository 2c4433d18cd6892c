// block_map: which key blocks each query block attends to exactly (SLA, SpargeAttn).
//
//   pq[b, h, qb]  = mean of q over the rows of query block qb
//   pk[b, hkv, kb] = mean of k over the keys of key block kb - mean of k over all keys (smoothing)
//   s[kb]         = pq . pk * scale over the candidate key blocks (SparseBlocks)
//   forced        = candidates holding sink keys (< SinkKeys) and, with KeepDiagonal, the
//                   candidates overlapping the query block's own positions
// The candidates are put in one order: forced blocks first (by index), then by score descending,
// ties to the lower index (a deterministic tie-break, the same on every backend). Top-k keeps the
// first max(budget, forced) of that order, budget = ceil(ratio * key blocks); CDF keeps every
// forced block and each block whose predecessors' softmax mass is still below the threshold (so
// the block that crosses it is kept). Smoothing shifts every score of a query block equally, so
// it changes no choice; it is kept because SLA scores smoothed K and it keeps the f32 sums small.
// The LUT lists the selected blocks ascending, then -1; counts per query block; the sparsity is
// SparseBlocks.Sparsity of the counts. The reference works in double, the kernels in f32: a choice
// could flip only where two scores (or a mass and the threshold) agree to ~1e-7.
// ILGPU: a pooling kernel (one thread per (b, head, block, channel): one block of rows each), a
// smoothing kernel for k (one group per (b, kv head, 32 channels): slices of block sums added in
// slice order, so the bits are the same every run) and a selection kernel (one warp per query
// block, ranks by counting). CUDA: kernels/attention/block_map.cu, the same passes.
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Zoetrope.Attention.Flash;
using Zoetrope.Runtime;
using Zoetrope.Runtime.KernelMath;
using Zoetrope.Runtime.Native;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Sparse;

/// <summary>How <see cref="BlockMap"/> chooses key blocks.</summary>
public enum BlockRule
{
    /// <summary>The top ceil(ratio * key blocks) by score.</summary>
    TopK = 0,

    /// <summary>The smallest prefix of the score order whose softmax mass reaches a threshold.</summary>
    Cdf = 1,
}

/// <summary>The selection rule of <see cref="BlockMap"/>.</summary>
/// <param name="Rule">Top-k or CDF.</param>
/// <param name="Value">The ratio (top-k) or the mass threshold (CDF), in (0, 1].</param>
/// <param name="SinkKeys">Key blocks holding any of the first SinkKeys keys are always kept.</param>
/// <param name="KeepDiagonal">Whether each query block always keeps the key blocks at its own positions.</param>
public readonly record struct BlockSelection(BlockRule Rule, float Value, int SinkKeys = 0, bool KeepDiagonal = true)
{
    /// <summary>Top-k by ratio.</summary>
    public static BlockSelection TopK(float ratio, int sinkKeys = 0, bool keepDiagonal = true) => new(BlockRule.TopK, ratio, sinkKeys, keepDiagonal);

    /// <summary>By cumulative softmax mass.</summary>
    public static BlockSelection Cdf(float threshold, int sinkKeys = 0, bool keepDiagonal = true) => new(BlockRule.Cdf, threshold, sinkKeys, keepDiagonal);

    /// <summary>Blocks top-k keeps (before forced ones are added): ceil(ratio * key blocks), at least 1.</summary>
    public int Budget(int kBlocks) =>
        Rule == BlockRule.TopK ? Math.Clamp((int)Math.Ceiling((Value * (double)kBlocks) - 1e-6), 1, Math.Max(1, kBlocks)) : kBlocks;

    /// <summary>A short label.</summary>
    public string Label => FormattableString.Invariant(
        $"{(Rule == BlockRule.TopK ? "topk" : "cdf")}={Value}{(SinkKeys > 0 ? $" sink={SinkKeys}" : string.Empty)}{(KeepDiagonal ? " +diag" : string.Empty)}");

    /// <summary>Throws an ArgumentException naming the bad value.</summary>
    public void Validate(string op)
    {
        if (!(Value > 0 && Value <= 1))
        {
            throw new ArgumentException($"{op}: {(Rule == BlockRule.TopK ? "ratio" : "threshold")} {Value} must be in (0, 1]", nameof(Value));
        }
        if (SinkKeys < 0)
        {
            throw new ArgumentException($"{op}: sink_keys {SinkKeys} must be non-negative", nameof(SinkKeys));
        }
    }
}

/// <summary>Block-map prediction for block-sparse attention and SLA.</summary>
[Op("block_map", Cases = typeof(BlockMapCases), Summary = "block-sparse map: pooled Q / smoothed K scores, top-k or CDF per query block, sinks and diagonal kept, LUT + counts")]
public sealed partial class BlockMap : IOp<BlockMap.Params>
{
    /// <summary>Parameters.</summary>
    /// <param name="DType">Type of q and k.</param>
    /// <param name="Geometry">Extents, layout and mask (v is not read).</param>
    /// <param name="Blocks">Block sizes.</param>
    /// <param name="Selection">The rule.</param>
    public readonly record struct Params(DType DType, AttentionGeometry Geometry, SparseBlocks Blocks, BlockSelection Selection) : IOpParams
    {
        /// <inheritdoc />
        public string Label => FormattableString.Invariant($"{DType.Name()} {Geometry.Label} {Blocks.Label} {Selection.Label}");
    }

    /// <summary>A block map: the LUT, the counts and (read back on first use) the achieved sparsity.</summary>
    public sealed class Result : IDisposable
    {
        private readonly AttentionGeometry _geometry;
        private readonly SparseBlocks _blocks;
        private double? _sparsity;

        /// <summary>Over tensors the result owns.</summary>
        public Result(Tensor lut, Tensor counts, AttentionGeometry geometry, SparseBlocks blocks)
        {
            (Lut, Counts, _geometry, _blocks) = (lut, counts, geometry, blocks);
        }

        /// <summary>[B, H, query blocks, key blocks] int32.</summary>
        public Tensor Lut { get; }

        /// <summary>[B, H, query blocks] int32.</summary>
        public Tensor Counts { get; }

        /// <summary>1 - selected / candidate block pairs; the first read copies the counts to the host (a device sync), so a streaming caller pays it only when it asks.</summary>
        public double Sparsity => _sparsity ??= _blocks.Sparsity(_geometry, Counts.ToDoubles());

        /// <inheritdoc />
        public void Dispose()
        {
            Lut.Dispose();
            Counts.Dispose();
        }
    }

    /// <summary>Predicts the map of q, k on their backend; the result's tensors are the caller's.</summary>
    public static Result Run(Tensor q, Tensor k, HeadLayout layout, AttentionMask mask, SparseBlocks blocks, BlockSelection selection)
    {
        var g = AttentionGeometry.Of("block_map", q, k, k, layout, mask);
        var p = new Params(q.DType, g, blocks, selection);
        var lut = q.Backend.Allocate(DType.I32, blocks.LutShape(g), "lut");
        var counts = q.Backend.Allocate(DType.I32, blocks.CountShape(g), "counts");
        Info.Run(q.Backend, p, new OpTensors { { "q", q }, { "k", k }, { "lut", lut }, { "counts", counts } });
        return new Result(lut, counts, g, blocks);
    }

    /// <inheritdoc />
    public static OpSignature Signature(Params p)
    {
        var g = p.Geometry;
        p.Blocks.Validate("block_map", g);
        p.Selection.Validate("block_map");
        if (!FloatTypes.Supported.Contains(p.DType))
        {
            throw new ArgumentException($"block_map: q and k must be f16, bf16 or f32, got {p.DType.Name()}", nameof(p));
        }
        return new OpSignature()
            .In("q", p.DType, g.Q, InitSpec.Gaussian(0, 1))
            .In("k", p.DType, g.Kv, InitSpec.Gaussian(0, 1))
            .Out("lut", DType.I32, p.Blocks.LutShape(g), exact: true)
            .Out("counts", DType.I32, p.Blocks.CountShape(g), exact: true);
    }

    /// <inheritdoc />
    public static OpCost Cost(Params p)
    {
        var g = p.Geometry;
        long nq = p.Blocks.QBlocks(g), nk = p.Blocks.KBlocks(g);
        double flops = (double)g.Q.ElementCount + g.Kv.ElementCount + (2.0 * g.Batch * g.Heads * nq * nk * g.HeadDim);
        return new(flops, ((g.Q.ElementCount + g.Kv.ElementCount) * (double)p.DType.Size()) + (4.0 * g.Batch * g.Heads * nq * (nk + 1)));
    }

    /// <inheritdoc />
    public static Params Bind(OpBinding binding)
    {
        var g = AttentionGeometry.Of(binding, "k");
        var blocks = BlockSparseAttention.Blocks(binding);
        var rule = binding.Get(RuleAttr) == "cdf" ? BlockRule.Cdf : BlockRule.TopK;
        float value = binding.Get(ValueAttr);
        var selection = new BlockSelection(rule, float.IsNaN(value) ? DefaultValue(rule) : value, binding.Get(SinkKeysAttr), binding.Get(KeepDiagonalAttr));
        return new Params(binding.Input("q").DType, g, blocks, selection);
    }

    private static float DefaultValue(BlockRule rule) => rule == BlockRule.TopK ? 0.1f : 0.9f;

    /// <summary>rule=topk|cdf.</summary>
    private static OpAttr<string> RuleAttr { get; } = OpAttr.Choice("rule", "topk", "topk keeps the value fraction of key blocks per query block; cdf keeps blocks until their probability mass reaches value", "topk", "cdf");

    /// <summary>value: the top-k ratio or the CDF threshold.</summary>
    private static OpAttr<float> ValueAttr { get; } = OpAttr.ComputedFloat("value", "0.1 for topk, 0.9 for cdf", "the top-k fraction or the CDF mass", min: 0, max: 1);

    /// <summary>sink_keys: leading keys always kept.</summary>
    private static OpAttr<int> SinkKeysAttr { get; } = OpAttr.Int("sink_keys", 0, "the first keys (their blocks) always selected", min: 0);

    /// <summary>keep_diagonal: the query's own block always kept.</summary>
    private static OpAttr<bool> KeepDiagonalAttr { get; } = OpAttr.Bool("keep_diagonal", true, "always select the key block on the query block's diagonal");

    /// <inheritdoc />
    public static OpAttributes Attributes { get; } = AttentionGeometry.Attributes.With(BlockSparseAttention.BlockQAttr, BlockSparseAttention.BlockKAttr, RuleAttr, ValueAttr, SinkKeysAttr, KeepDiagonalAttr);

    /// <inheritdoc />
    public static OpAttributeValues AttributesOf(Params p) => p.Geometry.Describe(new())
        .Set(BlockSparseAttention.BlockQAttr, p.Blocks.BlockQ).Set(BlockSparseAttention.BlockKAttr, p.Blocks.BlockK)
        .Set(RuleAttr, p.Selection.Rule == BlockRule.Cdf ? "cdf" : "topk")
        .Set(ValueAttr, p.Selection.Value == DefaultValue(p.Selection.Rule) ? float.NaN : p.Selection.Value)
        .Set(SinkKeysAttr, p.Selection.SinkKeys).Set(KeepDiagonalAttr, p.Selection.KeepDiagonal);

    /// <summary>The oracle in double (see the file comment).</summary>
    public static void Reference(Params p, OpTensors t)
    {
        var g = p.Geometry;
        var blocks = p.Blocks;
        int qBlocks = blocks.QBlocks(g), kBlocks = blocks.KBlocks(g);
        var pq = Pool(t.Read("q"), g.QStrides, g.Batch, g.Heads, g.QLen, g.HeadDim, blocks.BlockQ, smooth: false);
        var pk = Pool(t.Read("k"), g.KvStrides, g.Batch, g.KvHeads, g.KvLen, g.HeadDim, blocks.BlockK, smooth: true);
        var lut = new double[p.Blocks.LutShape(g).ElementCount];
        var counts = new double[p.Blocks.CountShape(g).ElementCount];
        var score = new double[kBlocks];
        var prob = new double[kBlocks];
        var flag = new int[kBlocks];
        int budget = p.Selection.Budget(kBlocks);
        double scale = g.DefaultScale;
        for (int b = 0; b < g.Batch; b++)
        {
            for (int h = 0; h < g.Heads; h++)
            {
                int hkv = h / g.Group;
                for (int qb = 0; qb < qBlocks; qb++)
                {
                    double max = double.NegativeInfinity;
                    for (int kb = 0; kb < kBlocks; kb++)
                    {
                        flag[kb] = Flag(g, blocks, p.Selection, qb, kb);
                        score[kb] = flag[kb] == 0 ? 0 : AttentionReference.Dot(pq, ((((long)b * g.Heads) + h) * qBlocks + qb) * g.HeadDim,
                            pk, ((((long)b * g.KvHeads) + hkv) * kBlocks + kb) * g.HeadDim, g.HeadDim) * scale;
                        max = flag[kb] == 0 ? max : Math.Max(max, score[kb]);
                    }
                    double total = 0;
                    for (int kb = 0; kb < kBlocks; kb++)
                    {
                        prob[kb] = flag[kb] == 0 ? 0 : Math.Exp(score[kb] - max);
                        total += prob[kb];
                    }
                    long row = (((long)b * g.Heads) + h) * qBlocks + qb;
                    int n = 0;
                    for (int j = 0; j < kBlocks; j++)
                    {
                        if (flag[j] == 0)
                        {
                            continue;
                        }
                        int rank = 0;
                        double before = 0;
                        for (int i = 0; i < kBlocks; i++)
                        {
                            if (flag[i] != 0 && i != j && Beats(flag[i] == 2, score[i], i, flag[j] == 2, score[j], j))
                            {
                                rank++;
                                before += prob[i];
                            }
                        }
                        bool keep = flag[j] == 2 || (p.Selection.Rule == BlockRule.TopK ? rank < budget : before < p.Selection.Value * total);
                        if (keep)
                        {
                            lut[(row * kBlocks) + n++] = j;
                        }
                    }
                    for (int i = n; i < kBlocks; i++)
                    {
                        lut[(row * kBlocks) + i] = -1;
                    }
                    counts[row] = n;
                }
            }
        }
        t.Write("lut", lut);
        t.Write("counts", counts);
    }

    /// <summary>0: not a candidate; 1: a candidate; 2: a forced candidate.</summary>
    public static int Flag(AttentionGeometry g, SparseBlocks blocks, BlockSelection sel, int qb, int kb) =>
        Flag(g.Mask, g.QOffset, g.QLen, g.KvLen, blocks.BlockQ, blocks.BlockK, sel.SinkKeys, sel.KeepDiagonal ? 1 : 0, qb, kb);

    /// <summary>The flag from primitive arguments (what the kernels call).</summary>
    public static int Flag(in AttentionMask mask, long qOffset, int qLen, int kvLen, int blockQ, int blockK, int sinkKeys, int keepDiagonal, int qb, int kb)
    {
        if (!SparseBlocks.Candidate(mask, qOffset, qLen, kvLen, blockQ, blockK, qb, kb))
        {
            return 0;
        }
        bool forced = ((long)kb * blockK < sinkKeys) || (keepDiagonal != 0 && SparseBlocks.Diagonal(qOffset, qLen, blockQ, blockK, qb, kb));
        return forced ? 2 : 1;
    }

    /// <summary>Whether candidate i comes before candidate j in the selection order (see the file comment).</summary>
    public static bool Beats(bool forcedI, double scoreI, int i, bool forcedJ, double scoreJ, int j)
    {
        if (forcedI != forcedJ)
        {
            return forcedI;
        }
        return forcedI ? i < j : scoreI > scoreJ || (scoreI == scoreJ && i < j);
    }

    // Block means of x (strided per head), minus the mean over all tokens when smoothing: [B, heads, blocks, D].
    private static double[] Pool(double[] x, HeadStrides st, int batch, int heads, int len, int d, int block, bool smooth)
    {
        int blocks = (len + block - 1) / block;
        var pooled = new double[(long)batch * heads * blocks * d];
        for (int b = 0; b < batch; b++)
        {
            for (int h = 0; h < heads; h++)
            {
                long at = (((long)b * heads) + h) * blocks * d;
                for (int c = 0; c < d; c++)
                {
                    double all = 0;
                    for (int blk = 0; blk < blocks; blk++)
                    {
                        int r0 = blk * block, r1 = Math.Min(len, r0 + block);
                        double sum = 0;
                        for (int r = r0; r < r1; r++)
                        {
                            sum += x[st.Of(b, h, r) + c];
                        }
                        all += sum;
                        pooled[at + ((long)blk * d) + c] = sum / (r1 - r0);
                    }
                    for (int blk = 0; blk < blocks && smooth; blk++)
                    {
                        pooled[at + ((long)blk * d) + c] -= all / len;
                    }
                }
            }
        }
        return pooled;
    }

    /// <summary>ILGPU: <see cref="PoolKernel{T, TCodec}"/> for q and k, then <see cref="SelectKernel"/>.</summary>
    [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
    internal static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t) => FloatTypes.Visit(p.DType, new Launcher(backend, p, t));

    /// <summary>CUDA: kernels/attention/block_map.cu.</summary>
    [RunsOn(BackendKind.Cuda)]
    internal static void Cuda(CudaBackend backend, Params p, OpTensors t)
    {
        var g = p.Geometry;
        var blocks = p.Blocks;
        long pooled = ((long)g.Batch * g.Heads * blocks.QBlocks(g) * g.HeadDim) + ((long)g.Batch * g.KvHeads * blocks.KBlocks(g) * g.HeadDim);
        using var work = backend.Workspaces.Rent(DType.F32, new Shape(Math.Max(1, pooled)), "block_map_pooled");
        ZtNative.BlockMap(backend, p.DType, g.Batch, g.Heads, g.KvHeads, g.QLen, g.KvLen, g.HeadDim, (int)g.Layout,
            g.Mask.KindCode, g.Mask.BlockTokens, g.Mask.WindowBlocks, g.Mask.SinkBlocks, blocks.BlockQ, blocks.BlockK,
            (int)p.Selection.Rule, p.Selection.Value, p.Selection.Budget(blocks.KBlocks(g)), p.Selection.SinkKeys, p.Selection.KeepDiagonal ? 1 : 0,
            g.DefaultScale, g.Q.ElementCount, g.Kv.ElementCount, blocks.LutShape(g).ElementCount, blocks.CountShape(g).ElementCount, work.ElementCount,
            Flash.Attention.Flat(t["q"]), Flash.Attention.Flat(t["k"]), work, Flash.Attention.Flat(t["lut"]), Flash.Attention.Flat(t["counts"]));
    }

    /// <summary>The scalars of both kernels (blittable).</summary>
    internal readonly struct MapArgs
    {
        /// <summary>Extents and rule.</summary>
        public readonly int Batch, Heads, KvHeads, QLen, KvLen, HeadDim, Group, BlockQ, BlockK, QBlocks, KBlocks, Rule, Budget, SinkKeys, KeepDiagonal;

        /// <summary>The CDF threshold and the score scale.</summary>
        public readonly float Threshold, Scale;

        /// <summary>Position of query 0.</summary>
        public readonly long QOffset;

        /// <summary>Strides of q and k.</summary>
        public readonly HeadStrides Q, Kv;

        /// <summary>The mask.</summary>
        public readonly AttentionMask Mask;

        /// <summary>From validated parameters.</summary>
        public MapArgs(Params p)
        {
            var g = p.Geometry;
            (Batch, Heads, KvHeads, QLen, KvLen, HeadDim, Group) = (g.Batch, g.Heads, g.KvHeads, g.QLen, g.KvLen, g.HeadDim, g.Group);
            (BlockQ, BlockK, QBlocks, KBlocks) = (p.Blocks.BlockQ, p.Blocks.BlockK, p.Blocks.QBlocks(g), p.Blocks.KBlocks(g));
            (Rule, Budget, SinkKeys, KeepDiagonal) = ((int)p.Selection.Rule, p.Selection.Budget(KBlocks), p.Selection.SinkKeys, p.Selection.KeepDiagonal ? 1 : 0);
            (Threshold, Scale, QOffset, Q, Kv, Mask) = (p.Selection.Value, g.DefaultScale, g.QOffset, g.QStrides, g.KvStrides, g.Mask);
        }
    }

    /// <summary>Warps per <see cref="SmoothKernel"/> group.</summary>
    public const int SmoothSlices = 8;

    /// <summary>
    /// One thread per (b, head, block, channel) of x, channel fastest: the sum of the block's rows
    /// (at most <paramref name="block"/>, in row order) into pooled [B, heads, blocks, D], as the
    /// mean, or as the sum when <paramref name="keepSums"/> is 1 (k: <see cref="SmoothKernel"/> follows).
    /// </summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void PoolKernel<T, TCodec>(Index1D i, ArrayView<T> x, HeadStrides st, int heads, int len, int d, int block, int blocks, int keepSums, ArrayView<float> pooled)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        TCodec codec = default;
        int cell = i / d;
        int c = i - (cell * d);
        int bh = cell / blocks;
        int r0 = (cell - (bh * blocks)) * block;
        int b = bh / heads;
        int rows = XMath.Min(len - r0, block);
        long at = st.Of(b, bh - (b * heads), r0) + c;
        float sum = 0f;
        for (int r = 0; r < rows; r++)
        {
            sum += codec.Load(x[at + (r * st.Token)]);
        }
        pooled[i] = keepSums != 0 ? sum : sum / rows;
    }

    /// <summary>
    /// k's block sums into block means minus the mean over all keys: one group of 32 x
    /// <see cref="SmoothSlices"/> per (b, kv head, 32 channels); each warp adds a contiguous run of
    /// blocks, the warps' totals are added in warp order.
    /// </summary>
    [IlgpuKernel]
    internal static void SmoothKernel(ArrayView<float> pooled, int len, int d, int block, int blocks)
    {
        var part = SharedMemory.Allocate<float>(32 * SmoothSlices);
        int lane = Group.IdxX & 31, slice = Group.IdxX >> 5;
        int tiles = (d + 31) / 32;
        long bh = Grid.IdxX / tiles;
        int c = ((Grid.IdxX - ((int)bh * tiles)) * 32) + lane;
        long at = (bh * blocks * d) + c;
        int per = (blocks + SmoothSlices - 1) / SmoothSlices;
        int b0 = XMath.Min(blocks, slice * per), b1 = XMath.Min(blocks, b0 + per);
        float sum = 0f;
        for (int blk = b0; blk < b1 && c < d; blk++)
        {
            sum += pooled[at + ((long)blk * d)];
        }
        part[Group.IdxX] = sum;
        Group.Barrier();
        float all = 0f;
        for (int w = 0; w < SmoothSlices; w++)
        {
            all += part[(w * 32) + lane];
        }
        float mean = all / len;
        for (int blk = b0; blk < b1 && c < d; blk++)
        {
            int rows = XMath.Min(len - (blk * block), block);
            pooled[at + ((long)blk * d)] = (pooled[at + ((long)blk * d)] / rows) - mean;
        }
    }

    /// <summary>One warp per (b, h, query block): flags and scores, softmax mass, rank by counting, the ascending LUT.</summary>
    [IlgpuKernel]
    internal static void SelectKernel(MapArgs a, ArrayView<float> pq, ArrayView<float> pk, ArrayView<int> lut, ArrayView<int> counts)
    {
        var score = SharedMemory.Allocate<float>(SparseBlocks.MaxKeyBlocks);
        var prob = SharedMemory.Allocate<float>(SparseBlocks.MaxKeyBlocks);
        var flag = SharedMemory.Allocate<int>(SparseBlocks.MaxKeyBlocks);
        var keep = SharedMemory.Allocate<int>(SparseBlocks.MaxKeyBlocks);
        int lane = Group.IdxX;
        long row = Grid.IdxX;
        int qb = (int)(row % a.QBlocks);
        long bh = row / a.QBlocks;
        int b = (int)(bh / a.Heads);
        int h = (int)(bh - ((long)b * a.Heads));
        long qAt = row * a.HeadDim;
        long kAt = (((long)b * a.KvHeads) + (h / a.Group)) * a.KBlocks * a.HeadDim;
        for (int kb = lane; kb < a.KBlocks; kb += FlashEngine.Lanes)
        {
            int f = Flag(a.Mask, a.QOffset, a.QLen, a.KvLen, a.BlockQ, a.BlockK, a.SinkKeys, a.KeepDiagonal, qb, kb);
            float dot = 0f;
            for (int c = 0; c < a.HeadDim && f != 0; c++)
            {
                dot += pq[qAt + c] * pk[kAt + ((long)kb * a.HeadDim) + c];
            }
            flag[kb] = f;
            score[kb] = dot * a.Scale;
        }
        Group.Barrier();
        // Every lane reduces in the same order, so all agree on max and total without a shuffle.
        float max = float.NegativeInfinity;
        for (int kb = 0; kb < a.KBlocks; kb++)
        {
            max = flag[kb] != 0 ? XMath.Max(max, score[kb]) : max;
        }
        for (int kb = lane; kb < a.KBlocks; kb += FlashEngine.Lanes)
        {
            prob[kb] = flag[kb] != 0 ? XMath.Exp(score[kb] - max) : 0f;
        }
        Group.Barrier();
        float total = 0f;
        for (int kb = 0; kb < a.KBlocks; kb++)
        {
            total += prob[kb];
        }
        for (int j = lane; j < a.KBlocks; j += FlashEngine.Lanes)
        {
            int rank = 0;
            float before = 0f;
            for (int i = 0; i < a.KBlocks && flag[j] != 0; i++)
            {
                if (flag[i] != 0 && i != j && Beats(flag[i] == 2, score[i], i, flag[j] == 2, score[j], j))
                {
                    rank++;
                    before += prob[i];
                }
            }
            keep[j] = flag[j] == 2 || (flag[j] == 1 && (a.Rule == (int)BlockRule.TopK ? rank < a.Budget : before < a.Threshold * total)) ? 1 : 0;
        }
        Group.Barrier();
        int count = 0;
        for (int kb = 0; kb < a.KBlocks; kb++)
        {
            count += keep[kb];
        }
        long lutAt = row * a.KBlocks;
        for (int j = lane; j < a.KBlocks; j += FlashEngine.Lanes)
        {
            if (keep[j] != 0)
            {
                int pos = 0;
                for (int i = 0; i < j; i++)
                {
                    pos += keep[i];
                }
                lut[lutAt + pos] = j;
            }
            if (j >= count)
            {
                lut[lutAt + j] = -1;
            }
        }
        if (lane == 0)
        {
            counts[row] = count;
        }
    }

    private readonly struct Launcher(IlgpuBackend backend, Params p, OpTensors t) : IFloatTypeVisitor
    {
        public void Visit<T, TCodec>()
            where T : unmanaged
            where TCodec : struct, IElementCodec<T>
        {
            var g = p.Geometry;
            var args = new MapArgs(p);
            long rows = (long)g.Batch * g.Heads * args.QBlocks;
            if (rows == 0)
            {
                return;
            }
            using var pq = backend.Workspaces.Rent(DType.F32, new Shape(rows * g.HeadDim), "pooled_q");
            using var pk = backend.Workspaces.Rent(DType.F32, new Shape(Math.Max(1, (long)g.Batch * g.KvHeads * args.KBlocks * g.HeadDim)), "pooled_k");
            var pool = backend.Kernel(PoolKernel<T, TCodec>, acc =>
                acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, HeadStrides, int, int, int, int, int, int, ArrayView<float>>(PoolKernel<T, TCodec>));
            pool(checked((int)(rows * g.HeadDim)), backend.View<T>(t["q"]), g.QStrides, g.Heads, g.QLen, g.HeadDim, args.BlockQ, args.QBlocks, 0, backend.View<float>(pq));
            if (g.KvLen > 0)
            {
                pool(checked(g.Batch * g.KvHeads * args.KBlocks * g.HeadDim), backend.View<T>(t["k"]), g.KvStrides, g.KvHeads, g.KvLen, g.HeadDim, args.BlockK, args.KBlocks, 1,
                    backend.View<float>(pk));
                var smooth = backend.Kernel(SmoothKernel, acc => acc.LoadStreamKernel<ArrayView<float>, int, int, int, int>(SmoothKernel));
                smooth(new KernelConfig(checked(g.Batch * g.KvHeads * ((g.HeadDim + 31) / 32)), 32 * SmoothSlices), backend.View<float>(pk), g.KvLen, g.HeadDim, args.BlockK, args.KBlocks);
            }
            var select = backend.Kernel(SelectKernel, acc =>
                acc.LoadStreamKernel<MapArgs, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>>(SelectKernel));
            select(new KernelConfig(checked((int)rows), FlashEngine.Lanes), args, backend.View<float>(pq), backend.View<float>(pk),
                backend.View<int>(t["lut"]), backend.View<int>(t["counts"]));
            backend.Synchronize();
        }
    }
}
