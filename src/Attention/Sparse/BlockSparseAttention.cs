// block_sparse_attention: exact attention over the key blocks a block map selected.
//
// For query block qb (BlockQ rows) the LUT lists key blocks (BlockK keys each); every query row of
// the block attends, with the mask still applied, to exactly the keys of those blocks. The work is
// the selected blocks' tiles only: FlashEngine walks the LUT's tiles (LutKeys) instead of every
// tile, and nothing else changes, so with every block selected it is attention (or
// sage_attention) bit for bit. Precisions: dense (f16/bf16/f32 scores, attention's kernel) or
// Sage (INT8 Q/K, f16 or FP8 P·V, sage_attention's kernel and pre-pass). A row whose blocks hold
// no visible key gets 0. The cost model counts the dense-equivalent work (the mask's visible pairs):
// achieved TFLOPS are "effective", as SLA reports them. No LSE (SLA does not merge partial results).
// CUDA: kernels/attention/block_sparse_attention.cu (flash_kernel.cuh with a LUT schedule).
using ILGPU;
using ILGPU.Runtime;
using Zoetrope.Attention.Flash;
using Zoetrope.Runtime;
using Zoetrope.Runtime.KernelMath;
using Zoetrope.Runtime.Native;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Sparse;

/// <summary>The arithmetic of the exact branch.</summary>
public enum SparsePrecision
{
    /// <summary>Scores from the stored q, k (attention).</summary>
    Dense = 0,

    /// <summary>SageAttention, INT8 Q/K, f16 P·V.</summary>
    SageFp16 = 1,

    /// <summary>SageAttention, INT8 Q/K, FP8 E4M3 P·V.</summary>
    SageFp8 = 2,
}

/// <summary>Flash attention over the key blocks of a LUT.</summary>
[Op("block_sparse_attention", Cases = typeof(BlockSparseAttentionCases), Summary = "block-sparse flash attention over a block map's LUT: dense (f16/bf16/f32) or Sage INT8 with f16/FP8 P·V")]
public sealed partial class BlockSparseAttention : IOp<BlockSparseAttention.Params>
{
    /// <summary>Parameters.</summary>
    /// <param name="DType">Type of q, k, v, o (dense) or of v, o (Sage).</param>
    /// <param name="Geometry">Extents, layout and mask.</param>
    /// <param name="Blocks">Block sizes of the LUT.</param>
    /// <param name="Precision">Dense or Sage.</param>
    /// <param name="QRows">Sage: query rows per Q scale.</param>
    /// <param name="Density">The fraction of key blocks a generated test LUT selects (inputs only; not an attribute of the op).</param>
    /// <param name="KRows">Sage: keys per K scale, 64 (Sage's block) or 1 (per key token).</param>
    public readonly record struct Params(DType DType, AttentionGeometry Geometry, SparseBlocks Blocks, SparsePrecision Precision = SparsePrecision.Dense,
        int QRows = 32, double Density = 0.5, int KRows = SageAttention.KRows) : IOpParams
    {
        /// <summary>The dense op these parameters restrict.</summary>
        public Flash.Attention.Params Dense => new(DType, Geometry);

        /// <summary>The Sage op these parameters restrict.</summary>
        public SageAttention.Params Sage => new(DType, Geometry, QRows, Precision == SparsePrecision.SageFp8 ? SagePv.Fp8 : SagePv.Fp16, KRows: KRows);

        /// <inheritdoc />
        public string Label => FormattableString.Invariant(
            $"{(Precision == SparsePrecision.Dense ? Dense.Label : Sage.Label)} {Blocks.Label} density={Density:0.##}");
    }

    /// <summary>Runs dense block-sparse attention on the backend of <paramref name="q"/>.</summary>
    public static void Run(Tensor q, Tensor k, Tensor v, BlockMap.Result map, Tensor o, HeadLayout layout, AttentionMask mask, SparseBlocks blocks)
    {
        ArgumentNullException.ThrowIfNull(map);
        var g = AttentionGeometry.Of("block_sparse_attention", q, k, v, layout, mask);
        Info.Run(q.Backend, new Params(q.DType, g, blocks), new OpTensors { { "q", q }, { "k", k }, { "v", v }, { "lut", map.Lut }, { "counts", map.Counts }, { "o", o } });
    }

    /// <summary>
    /// Runs Sage-precision block-sparse attention on the backend of <paramref name="q"/>: int8 q/k with
    /// their f32 scales (<paramref name="kRows"/> 64 per key block, or 1 per key token: k's shape
    /// without its last dim), v and o in f16 or bf16, over <paramref name="map"/>'s blocks.
    /// </summary>
    /// <exception cref="ArgumentException">A tensor's dtype or shape disagrees; the message names it, with the expected and actual shapes.</exception>
    public static void RunSage(Tensor q, Tensor qScale, Tensor k, Tensor kScale, Tensor v, BlockMap.Result map, Tensor o, HeadLayout layout, AttentionMask mask,
        SparseBlocks blocks, int qRows, int kRows, SagePv pv)
    {
        ArgumentNullException.ThrowIfNull(map);
        var s = SageAttention.Checked(q, qScale, k, kScale, v, layout, mask, qRows, kRows, pv, lse: false, hasKMean: false, "block_sparse_attention");
        var p = FromSage(s, blocks, pv == SagePv.Fp8 ? SparsePrecision.SageFp8 : SparsePrecision.SageFp16);
        Info.Run(q.Backend, p, new OpTensors
        {
            { "q", q }, { "q_scale", qScale }, { "k", k }, { "k_scale", kScale }, { "v", v }, { "lut", map.Lut }, { "counts", map.Counts }, { "o", o },
        });
    }

    /// <inheritdoc />
    public static OpSignature Signature(Params p)
    {
        var g = p.Geometry;
        p.Blocks.Validate("block_sparse_attention", g);
        if (p.Precision == SparsePrecision.Dense && p.KRows != SageAttention.KRows)
        {
            throw new ArgumentException($"block_sparse_attention: k_rows={p.KRows} is a Sage precision's (dense attention has no K scale)", nameof(p));
        }
        var s = p.Precision == SparsePrecision.Dense ? Flash.Attention.Signature(p.Dense) : SageAttention.Signature(p.Sage);
        return AddLut(s, g, p.Blocks, p.Density);
    }

    /// <summary>Adds the lut and counts inputs, generated as a random selection of <paramref name="density"/> of each row's key blocks.</summary>
    internal static OpSignature AddLut(OpSignature s, AttentionGeometry g, SparseBlocks blocks, double density) => s
        .In("lut", DType.I32, blocks.LutShape(g), InitSpec.Custom($"lut density {density:0.##}", (x, _) => RandomLut(g, blocks, density, x, null)))
        .In("counts", DType.I32, blocks.CountShape(g), InitSpec.Custom($"lut counts density {density:0.##}", (x, _) => RandomLut(g, blocks, density, null, x)));

    // Each row picks round(density * key blocks) blocks at random (at least one), seeded by the row so lut and counts agree.
    private static void RandomLut(AttentionGeometry g, SparseBlocks blocks, double density, double[]? lut, double[]? counts)
    {
        int kBlocks = blocks.KBlocks(g);
        long rows = blocks.CountShape(g).ElementCount;
        int pick = Math.Clamp((int)Math.Round(density * kBlocks), Math.Min(1, kBlocks), kBlocks);
        for (long row = 0; row < rows; row++)
        {
            var rng = new Random(unchecked((int)(row * 7919) + 17));
            var chosen = Enumerable.Range(0, kBlocks).OrderBy(_ => rng.Next()).Take(pick).Order().ToArray();
            if (counts is not null)
            {
                counts[row] = pick;
            }
            for (int i = 0; i < kBlocks && lut is not null; i++)
            {
                lut[(row * kBlocks) + i] = i < pick ? chosen[i] : -1;
            }
        }
    }

    /// <inheritdoc />
    public static OpCost Cost(Params p) => p.Precision == SparsePrecision.Dense ? Flash.Attention.Cost(p.Dense) : SageAttention.Cost(p.Sage);

    /// <inheritdoc />
    public static Params Bind(OpBinding binding)
    {
        var blocks = Blocks(binding);
        var precision = binding.Get(PrecisionAttr) switch
        {
            "sage-fp16" => SparsePrecision.SageFp16,
            "sage-fp8" => SparsePrecision.SageFp8,
            _ => SparsePrecision.Dense,
        };
        var p = precision == SparsePrecision.Dense
            ? new Params(binding.Input("q").DType, AttentionGeometry.Of(binding), blocks)
            : FromSage(SageAttention.BindSage(binding, precision == SparsePrecision.SageFp16 ? SagePv.Fp16 : SagePv.Fp8, lse: false), blocks, precision);
        CheckLut(binding, p.Geometry, blocks);
        return p;
    }

    /// <summary>block_q: query rows per block of the LUT.</summary>
    internal static OpAttr<int> BlockQAttr { get; } = OpAttr.Int("block_q", 128, "query rows per block of lut/counts", min: 1);

    /// <summary>block_k: keys per block of the LUT.</summary>
    internal static OpAttr<int> BlockKAttr { get; } = OpAttr.Int("block_k", 64, "keys per block of lut/counts", min: 1);

    /// <summary>precision=dense|sage-fp16|sage-fp8.</summary>
    private static OpAttr<string> PrecisionAttr { get; } = OpAttr.Choice("precision", "dense", "dense (q, k, v as given) or Sage (int8 q/k with their scales; P.V in fp16 or fp8)", "dense", "sage-fp16", "sage-fp8");

    /// <inheritdoc />
    public static OpAttributes Attributes { get; } = AttentionGeometry.Attributes.With(BlockQAttr, BlockKAttr, PrecisionAttr, SageAttention.QRowsAttr, SageAttention.KRowsAttr);

    /// <inheritdoc />
    public static OpAttributeValues AttributesOf(Params p) => p.Geometry.Describe(new())
        .Set(BlockQAttr, p.Blocks.BlockQ).Set(BlockKAttr, p.Blocks.BlockK)
        .Set(PrecisionAttr, p.Precision switch { SparsePrecision.SageFp16 => "sage-fp16", SparsePrecision.SageFp8 => "sage-fp8", _ => "dense" })
        .Set(SageAttention.QRowsAttr, p.Precision == SparsePrecision.Dense ? 0 : SageAttention.QRowsValue(p.Geometry.QLen, p.QRows))
        .Set(SageAttention.KRowsAttr, p.Precision == SparsePrecision.Dense ? 0 : SageAttention.KRowsValue(p.KRows));

    /// <summary>The block_q and block_k attributes.</summary>
    internal static SparseBlocks Blocks(OpBinding binding) => new(binding.Get(BlockQAttr), binding.Get(BlockKAttr));

    private static Params FromSage(SageAttention.Params s, SparseBlocks blocks, SparsePrecision precision) =>
        new(s.DType, s.Geometry, blocks, precision, s.QRows, KRows: s.KRows);

    /// <summary>Checks the lut and counts inputs of a binding against the geometry; the error names the tensor and both shapes.</summary>
    internal static void CheckLut(OpBinding binding, AttentionGeometry g, SparseBlocks blocks)
    {
        foreach (var (name, shape) in new[] { ("lut", blocks.LutShape(g)), ("counts", blocks.CountShape(g)) })
        {
            var t = binding.Input(name);
            if (t.DType != DType.I32 || !t.Shape.Equals(shape))
            {
                throw new ArgumentException($"{binding.Op}: {name} '{t.Name}' is {t.DType.Name()} {t.Shape}; expected i32 {shape} for {blocks.Label}", name);
            }
        }
    }

    /// <summary>The oracle: attention's (or Sage's emulated) oracle with the unselected blocks removed.</summary>
    public static void Reference(Params p, OpTensors t)
    {
        var keep = Filter(p.Geometry, p.Blocks, "block_sparse_attention", t.Read("lut"), t.Read("counts"));
        if (p.Precision == SparsePrecision.Dense)
        {
            Flash.Attention.Reference(p.Dense, t, keep);
        }
        else
        {
            SageAttention.Reference(p.Sage, t, keep);
        }
    }

    /// <summary>The LUT as a key filter for <see cref="AttentionReference"/>.</summary>
    internal static AttentionReference.KeyFilter Filter(AttentionGeometry g, SparseBlocks blocks, string op, double[] lut, double[] counts)
    {
        var bitmap = blocks.Bitmap(op, g, lut, counts);
        int qBlocks = blocks.QBlocks(g), kBlocks = blocks.KBlocks(g);
        return (b, h, i, j) => bitmap[(((((long)b * g.Heads) + h) * qBlocks + (i / blocks.BlockQ)) * kBlocks) + (j / blocks.BlockK)];
    }

    /// <summary>ILGPU: FlashEngine with <see cref="LutKeys"/> and the dense or Sage tile.</summary>
    [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
    internal static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t)
    {
        using var unused = backend.Workspaces.Rent(DType.F32, new Shape(1), "unused");
        var keys = LutKeys.Of(backend, p.Geometry, p.Blocks, t, null, unused);
        Launch(backend, p, t, keys, unused);
    }

    /// <summary>Runs the flash kernel of <paramref name="p"/>'s precision with <paramref name="keys"/> (SLA passes its residual through them).</summary>
    internal static void Launch(IlgpuBackend backend, Params p, OpTensors t, LutKeys keys, Tensor unused)
    {
        if (FlashEngine.Groups(p.Geometry) == 0)
        {
            return;
        }
        if (p.Precision == SparsePrecision.Dense)
        {
            FloatTypes.Visit(p.DType, new DenseLauncher(backend, p, t, keys, unused));
        }
        else if (p.DType == DType.F16)
        {
            SageLaunch<ILGPU.Half, F16Codec>(backend, p, t, keys, unused);
        }
        else
        {
            SageLaunch<ushort, Bf16Codec>(backend, p, t, keys, unused);
        }
        backend.Synchronize();
    }

    private static void SageLaunch<T, TCodec>(IlgpuBackend backend, Params p, OpTensors t, LutKeys keys, Tensor unused)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        using var prepared = new SageAttention.Prepared<T, TCodec>(backend, p.Sage, t, unused);
        var kernel = backend.Kernel(SageKernel<T, TCodec>, acc =>
            acc.LoadStreamKernel<FlashArgs, SageTile<T, TCodec>, LutKeys, ArrayView<T>, ArrayView<float>>(SageKernel<T, TCodec>));
        kernel(new KernelConfig(checked((int)FlashEngine.Groups(p.Geometry)), FlashEngine.Threads(p.Geometry)), new FlashArgs(p.Geometry, false), prepared.Tile, keys,
            backend.View<T>(t["o"]), backend.View<float>(unused));
    }

    /// <summary>CUDA: kernels/attention/block_sparse_attention.cu.</summary>
    [CudaKernel("sm_80", "block_sparse_attention_mma_sm80", "dense f16/bf16")]
    [CudaKernel("sm_80", "block_sparse_sage_attention_mma_sm80", "Sage, 16-bit or FP8 P·V")]
    [CudaKernel("sm_90", "block_sparse_attention_sm90_<dtype>_d<D>", "dense f16/bf16, block_q a multiple of 128, D 64 or 128, 16-byte-aligned q, k, v")]
    [CudaKernel("sm_90", "block_sparse_sage_attention_sm90_<dtype>_d<D>_<pv>", "Sage, block_q a multiple of 128, a K scale per 64 keys")]
    [CudaKernel("sm_90", "block_sparse_sage_attention_sm90_<dtype>_d<D>_<pv>_kpt", "Sage, block_q a multiple of 128, a K scale per key token")]
    [RunsOn(BackendKind.Cuda)]
    internal static void Cuda(CudaBackend backend, Params p, OpTensors t) => CudaLaunch(backend, p, t, null);

    /// <summary>The CUDA launch, with SLA's residual when given.</summary>
    internal static void CudaLaunch(CudaBackend backend, Params p, OpTensors t, Tensor? residual)
    {
        var g = p.Geometry;
        var blocks = p.Blocks;
        long lutCount = blocks.LutShape(g).ElementCount, countCount = blocks.CountShape(g).ElementCount;
        if (p.Precision == SparsePrecision.Dense)
        {
            if (p.DType == DType.F32)
            {
                throw new NotSupportedException("block_sparse_attention on the cuda backend takes f16 or bf16 (its tensor-core kernel has no f32 path); use ilgpu-cuda for f32");
            }
            ZtNative.BlockSparseAttention(backend, p.DType, g.Batch, g.Heads, g.KvHeads, g.QLen, g.KvLen, g.HeadDim, (int)g.Layout,
                g.Mask.KindCode, g.Mask.BlockTokens, g.Mask.WindowBlocks, g.Mask.SinkBlocks, blocks.BlockQ, blocks.BlockK, g.DefaultScale,
                g.Q.ElementCount, g.Kv.ElementCount, lutCount, countCount,
                Flash.Attention.Flat(t["q"]), Flash.Attention.Flat(t["k"]), Flash.Attention.Flat(t["v"]), Flash.Attention.Flat(t["lut"]), Flash.Attention.Flat(t["counts"]),
                residual, Flash.Attention.Flat(t["o"]));
            OpNotes.RecordNativeKernel(residual is null ? "block_sparse_attention" : "sla");
            return;
        }
        var s = p.Sage;
        bool fp8 = s.Pv == SagePv.Fp8;
        using var vFp8 = fp8 ? backend.Workspaces.Rent(DType.U8, new Shape(SageAttention.VCodeCount(g)), "v_fp8") : null;
        using var vScale = fp8 ? backend.Workspaces.Rent(DType.F32, new Shape(s.ChannelShape.ElementCount), "v_scale") : null;
        ZtNative.BlockSparseSageAttention(backend, p.DType, g.Batch, g.Heads, g.KvHeads, g.QLen, g.KvLen, g.HeadDim, (int)g.Layout,
            g.Mask.KindCode, g.Mask.BlockTokens, g.Mask.WindowBlocks, g.Mask.SinkBlocks, blocks.BlockQ, blocks.BlockK, s.QRows, s.KRows, (int)s.Pv,
            g.Q.ElementCount, g.Kv.ElementCount, s.QScaleShape.ElementCount, s.KScaleShape.ElementCount, s.ChannelShape.ElementCount, SageAttention.VCodeCount(g),
            lutCount, countCount,
            Flash.Attention.Flat(t["q"]), Flash.Attention.Flat(t["q_scale"]), Flash.Attention.Flat(t["k"]), Flash.Attention.Flat(t["k_scale"]),
            Flash.Attention.Flat(t["v"]), Flash.Attention.Flat(t["lut"]), Flash.Attention.Flat(t["counts"]), vFp8, vScale, Flash.Attention.Flat(t["o"]));
        OpNotes.RecordNativeKernel("block_sparse_attention");
    }

    /// <summary>Dense scores over the LUT's tiles.</summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void DenseKernel<T, TCodec>(FlashArgs a, DenseTile<T, TCodec> tile, LutKeys keys, ArrayView<T> o, ArrayView<float> lse)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T> =>
        FlashEngine.Run<DenseTile<T, TCodec>, LutKeys, T, TCodec>(a, tile, keys, o, lse);

    /// <summary>Sage scores over the LUT's tiles.</summary>
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void SageKernel<T, TCodec>(FlashArgs a, SageTile<T, TCodec> tile, LutKeys keys, ArrayView<T> o, ArrayView<float> lse)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T> =>
        FlashEngine.Run<SageTile<T, TCodec>, LutKeys, T, TCodec>(a, tile, keys, o, lse);

    private readonly struct DenseLauncher(IlgpuBackend backend, Params p, OpTensors t, LutKeys keys, Tensor unused) : IFloatTypeVisitor
    {
        public void Visit<T, TCodec>()
            where T : unmanaged
            where TCodec : struct, IElementCodec<T>
        {
            var g = p.Geometry;
            var kernel = backend.Kernel(DenseKernel<T, TCodec>, acc =>
                acc.LoadStreamKernel<FlashArgs, DenseTile<T, TCodec>, LutKeys, ArrayView<T>, ArrayView<float>>(DenseKernel<T, TCodec>));
            var tile = new DenseTile<T, TCodec>(backend.View<T>(t["q"]), backend.View<T>(t["k"]), backend.View<T>(t["v"]), g.DefaultScale * 1.4426950408889634f);
            kernel(new KernelConfig(checked((int)FlashEngine.Groups(g)), FlashEngine.Threads(g)), new FlashArgs(g, false), tile, keys, backend.View<T>(t["o"]),
                backend.View<float>(unused));
        }
    }
}

/// <summary>FlashEngine's schedule over a block map's LUT (and SLA's residual).</summary>
internal readonly struct LutKeys : IFlashKeys
{
    private readonly ArrayView<int> _lut;
    private readonly ArrayView<int> _counts;
    private readonly ArrayView<float> _residual;
    private readonly int _qBlocks, _kBlocks, _blockQ, _blockK, _tilesPerBlock, _hasResidual;

    private LutKeys(ArrayView<int> lut, ArrayView<int> counts, ArrayView<float> residual, int qBlocks, int kBlocks, int blockQ, int blockK, int hasResidual)
    {
        (_lut, _counts, _residual) = (lut, counts, residual);
        (_qBlocks, _kBlocks, _blockQ, _blockK, _hasResidual) = (qBlocks, kBlocks, blockQ, blockK, hasResidual);
        _tilesPerBlock = blockK / FlashEngine.TileK;
    }

    /// <summary>Over the run's lut and counts; <paramref name="residual"/> (f32, q's layout) is added to O when given.</summary>
    internal static LutKeys Of(IlgpuBackend backend, AttentionGeometry g, SparseBlocks blocks, OpTensors t, Tensor? residual, Tensor unused) =>
        new(backend.View<int>(t["lut"]), backend.View<int>(t["counts"]), backend.View<float>(residual ?? unused),
            blocks.QBlocks(g), blocks.KBlocks(g), blocks.BlockQ, blocks.BlockK, residual is null ? 0 : 1);

    /// <inheritdoc />
    public int HasResidual => _hasResidual;

    /// <inheritdoc />
    public int Count(in FlashArgs a, int b, int h, long q0) =>
        _counts[((((long)b * a.Heads) + h) * _qBlocks) + (q0 / _blockQ)] * _tilesPerBlock;

    /// <inheritdoc />
    public long Start(in FlashArgs a, int b, int h, long q0, int i)
    {
        long row = ((((long)b * a.Heads) + h) * _qBlocks) + (q0 / _blockQ);
        return ((long)_lut[(row * _kBlocks) + (i / _tilesPerBlock)] * _blockK) + ((long)(i % _tilesPerBlock) * FlashEngine.TileK);
    }

    /// <inheritdoc />
    public float Residual(in FlashArgs a, int b, int h, long qi, int ch) => _residual[a.Q.Of(b, h, qi) + ch];
}
