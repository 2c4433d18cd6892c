// linear_attention: O = phi(Q) S / (phi(Q) . z + 1e-5), S = sum_j phi(k_j)^T v_j (D x D), z = sum_j phi(k_j).
//
// Non-causal: S and z over every key. Causal block-linear (BlockTokens > 0, Nq == Nkv): a query of
// block c uses S and z over the keys of blocks 0..c, the block-causal mask of streaming video
// generation, with O(D^2) state per head however long the sequence (SANA-Video). A carried state
// (state [B, Hkv, D, D], zsum [B, Hkv, D], f32) is added before the first key and holds the totals
// after the last, so a scheduler feeds one block per call and keeps the state between calls
// (LinearAttentionState); the state after k blocks is the non-causal S, z over those k blocks.
// GQA: S and z are per KV head. ILGPU: LinearEngine's phi / partial / scan, then one group per
// (b, h, 64 query rows of one state, 64 output columns): the state staged once into shared memory,
// then LinearEngine.GemmRows. CUDA: kernels/attention/linear_attention.cu (the same design).
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Zoetrope.Attention.Flash;
using Zoetrope.Runtime;
using Zoetrope.Runtime.KernelMath;
using Zoetrope.Runtime.Native;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Sparse;

/// <summary>Linear attention, non-causal or causal block-linear, with an optional carried state.</summary>
[Op("linear_attention", Cases = typeof(LinearAttentionCases), Summary = "linear attention: phi relu / elu+1 / softmax, non-causal or causal block-linear with a carried D x D state")]
public sealed partial class LinearAttention : IOp<LinearAttention.Params>
{
    /// <summary>Keys per partial sum when non-causal (parallelism of the partial pass).</summary>
    public const int SegmentTokens = 256;

    /// <summary>Parameters.</summary>
    /// <param name="DType">Type of q, k, v and o.</param>
    /// <param name="Geometry">Extents and layout (mask none: causality is <paramref name="BlockTokens"/>).</param>
    /// <param name="Phi">The feature map.</param>
    /// <param name="BlockTokens">0: non-causal; otherwise the block of causal block-linear attention.</param>
    /// <param name="State">Whether state and zsum are carried in and out.</param>
    public readonly record struct Params(DType DType, AttentionGeometry Geometry, FeatureMap Phi, int BlockTokens = 0, bool State = false) : IOpParams
    {
        /// <summary>Keys per segment of the partial pass: the causal block, or <see cref="SegmentTokens"/>.</summary>
        public int Segment => BlockTokens > 0 ? BlockTokens : SegmentTokens;

        /// <summary>Shape of state.</summary>
        public Shape StateShape => new(Geometry.Batch, Geometry.KvHeads, Geometry.HeadDim, Geometry.HeadDim);

        /// <summary>Shape of zsum.</summary>
        public Shape ZsumShape => new(Geometry.Batch, Geometry.KvHeads, Geometry.HeadDim);

        /// <inheritdoc />
        public string Label => FormattableString.Invariant(
            $"{DType.Name()} {Geometry.Label} phi={Phi.ToString().ToLowerInvariant()} {(BlockTokens > 0 ? $"causal/{BlockTokens}" : "full")}{(State ? " state" : string.Empty)}");
    }

    /// <inheritdoc />
    public static OpSignature Signature(Params p)
    {
        var g = p.Geometry;
        g.Validate();
        if (!FloatTypes.Supported.Contains(p.DType))
        {
            throw new ArgumentException($"linear_attention: q, k and v must be f16, bf16 or f32, got {p.DType.Name()}", nameof(p));
        }
        if (g.Mask.Kind != MaskKind.None)
        {
            throw new ArgumentException($"linear_attention {g.Label}: the mask must be none; causal block-linear is set by block_tokens", nameof(p));
        }
        if (p.BlockTokens < 0 || (p.BlockTokens > 0 && g.QLen != g.KvLen))
        {
            throw new ArgumentException($"linear_attention {g.Label}: causal block-linear (block_tokens {p.BlockTokens}) needs Nq == Nkv and a positive block", nameof(p));
        }
        var s = new OpSignature()
            .In("q", p.DType, g.Q, InitSpec.Gaussian(0, 1))
            .In("k", p.DType, g.Kv, InitSpec.Gaussian(0, 1))
            .In("v", p.DType, g.Kv, InitSpec.Gaussian(0, 1));
        if (p.State)
        {
            // A state as a previous call leaves it: sums of phi(k) v over some keys, z positive.
            s.InOut("state", DType.F32, p.StateShape, InitSpec.Gaussian(0, 4))
             .InOut("zsum", DType.F32, p.ZsumShape, InitSpec.Uniform(20, 40));
        }
        return s.Out("o", p.DType, g.Q);
    }

    /// <inheritdoc />
    public static OpCost Cost(Params p)
    {
        var g = p.Geometry;
        double d = g.HeadDim;
        double flops = (2.0 * g.Batch * g.KvHeads * g.KvLen * d * (d + 1)) + (2.0 * g.Batch * g.Heads * g.QLen * d * (d + 1));
        return new(flops, ((2.0 * g.Q.ElementCount) + (2.0 * g.Kv.ElementCount)) * p.DType.Size());
    }

    /// <inheritdoc />
    public static Params Bind(OpBinding binding)
    {
        var g = AttentionGeometry.Unmasked(binding);
        return new Params(binding.Input("q").DType, g, ParsePhi(binding), binding.Get(CausalBlockAttr), binding.Has("state"));
    }

    /// <summary>phi=relu|elu1|softmax: the feature map.</summary>
    internal static OpAttr<string> PhiAttr { get; } = OpAttr.Choice("phi", "elu1", "feature map applied to q and k: relu, elu1 (elu + 1) or softmax (over the head dim)", "relu", "elu1", "softmax");

    /// <summary>block_tokens: causal block-linear attention's block.</summary>
    private static OpAttr<int> CausalBlockAttr { get; } = OpAttr.Int("block_tokens", 0, "0: non-causal; otherwise each query block sees the keys of its own and earlier blocks of this many tokens", min: 0);

    /// <inheritdoc />
    public static OpAttributes Attributes { get; } = OpAttributes.Of(AttentionGeometry.LayoutAttr, PhiAttr, CausalBlockAttr);

    /// <inheritdoc />
    public static OpAttributeValues AttributesOf(Params p) =>
        new OpAttributeValues().Set(AttentionGeometry.LayoutAttr, p.Geometry.Layout == HeadLayout.Nhd ? "nhd" : "hnd").Set(PhiAttr, PhiText(p.Phi)).Set(CausalBlockAttr, p.BlockTokens);

    /// <summary>The phi attribute (relu, elu1, softmax).</summary>
    internal static FeatureMap ParsePhi(OpBinding binding) => binding.Get(PhiAttr) switch
    {
        "relu" => FeatureMap.Relu,
        "softmax" => FeatureMap.Softmax,
        _ => FeatureMap.Elu1,
    };

    /// <summary>The phi attribute's text for <paramref name="phi"/>.</summary>
    internal static string PhiText(FeatureMap phi) => phi switch
    {
        FeatureMap.Relu => "relu",
        FeatureMap.Softmax => "softmax",
        _ => "elu1",
    };

    /// <summary>The oracle in double, straight from the definition (no prefix sums).</summary>
    public static void Reference(Params p, OpTensors t)
    {
        var g = p.Geometry;
        int d = g.HeadDim;
        var pq = LinearEngine.PhiRows(p.Phi, t.Read("q"), g.QStrides, g.Batch, g.Heads, g.QLen, d);
        var pk = LinearEngine.PhiRows(p.Phi, t.Read("k"), g.KvStrides, g.Batch, g.KvHeads, g.KvLen, d);
        var v = t.Read("v");
        var state = p.State ? t.Read("state") : new double[p.StateShape.ElementCount];
        var zsum = p.State ? t.Read("zsum") : new double[p.ZsumShape.ElementCount];
        var o = new double[g.Q.ElementCount];
        int segment = p.BlockTokens > 0 ? p.BlockTokens : Math.Max(1, g.KvLen);
        for (int b = 0; b < g.Batch; b++)
        {
            for (int hkv = 0; hkv < g.KvHeads; hkv++)
            {
                long bh = ((long)b * g.KvHeads) + hkv;
                var s = state.AsSpan((int)(bh * d * d), d * d);
                var z = zsum.AsSpan((int)(bh * d), d);
                for (long j0 = 0; j0 < Math.Max(1, g.KvLen); j0 += segment)
                {
                    long j1 = Math.Min(g.KvLen, j0 + segment);
                    for (long j = j0; j < j1; j++)
                    {
                        long kAt = ((bh * g.KvLen) + j) * d;
                        for (int d1 = 0; d1 < d; d1++)
                        {
                            z[d1] += pk[kAt + d1];
                            for (int d2 = 0; d2 < d; d2++)
                            {
                                s[(d1 * d) + d2] += pk[kAt + d1] * v[g.KvStrides.Of(b, hkv, j) + d2];
                            }
                        }
                    }
                    // The queries this state serves: the block's own (causal) or all (non-causal).
                    long i0 = p.BlockTokens > 0 ? j0 : 0, i1 = p.BlockTokens > 0 ? j1 : g.QLen;
                    for (int h = hkv * g.Group; h < (hkv + 1) * g.Group; h++)
                    {
                        for (long i = i0; i < i1; i++)
                        {
                            Apply(pq.AsSpan((int)(((((long)b * g.Heads) + h) * g.QLen + i) * d), d), s, z, o.AsSpan((int)g.QStrides.Of(b, h, i), d));
                        }
                    }
                }
            }
        }
        t.Write("o", o);
        if (p.State)
        {
            t.Write("state", state);
            t.Write("zsum", zsum);
        }
    }

    /// <summary>o = phiQ S / (phiQ . z + eps) for one row.</summary>
    internal static void Apply(ReadOnlySpan<double> phiQ, ReadOnlySpan<double> s, ReadOnlySpan<double> z, Span<double> o)
    {
        int d = phiQ.Length;
        double den = LinearEngine.Epsilon;
        for (int d1 = 0; d1 < d; d1++)
        {
            den += phiQ[d1] * z[d1];
        }
        for (int d2 = 0; d2 < d; d2++)
        {
            double num = 0;
            for (int d1 = 0; d1 < d; d1++)
            {
                num += phiQ[d1] * s[(d1 * d) + d2];
            }
            o[d2] = num / den;
        }
    }

    /// <summary>ILGPU: LinearEngine's passes, then <see cref="OutputKernel{T, TCodec}"/>.</summary>
    [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
    internal static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t) => FloatTypes.Visit(p.DType, new Launcher(backend, p, t));

    /// <summary>CUDA: kernels/attention/linear_attention.cu.</summary>
    [RunsOn(BackendKind.Cuda)]
    internal static void Cuda(CudaBackend backend, Params p, OpTensors t)
    {
        var g = p.Geometry;
        long work = g.Q.ElementCount + g.Kv.ElementCount + PrefixFloats(g, p.Segment);
        using var buffer = backend.Workspaces.Rent(DType.F32, new Shape(work), "linear_work");
        ZtNative.LinearAttention(backend, p.DType, g.Batch, g.Heads, g.KvHeads, g.QLen, g.KvLen, g.HeadDim, (int)g.Layout, (int)p.Phi, p.BlockTokens > 0 ? 1 : 0,
            p.Segment, g.Q.ElementCount, g.Kv.ElementCount, p.StateShape.ElementCount, p.ZsumShape.ElementCount, work,
            Flash.Attention.Flat(t["q"]), Flash.Attention.Flat(t["k"]), Flash.Attention.Flat(t["v"]),
            p.State ? Flash.Attention.Flat(t["state"]) : null, p.State ? Flash.Attention.Flat(t["zsum"]) : null, buffer, Flash.Attention.Flat(t["o"]));
    }

    /// <summary>
    /// Floats of the key prefix on both paths (LinearEngine.Args.PrefixFloats, linear_common.cuh's
    /// prefix_floats): the chunk-local prefix of every segment and the carry of every chunk of about
    /// LinearEngine.ChunkTokens keys, D x (D + 1) each, per (b, hkv).
    /// </summary>
    internal static long PrefixFloats(AttentionGeometry g, int segmentTokens) => new LinearEngine.Args(g, FeatureMap.Relu, segmentTokens).PrefixFloats;

    /// <summary>
    /// Group (column tile, row tile of every state's rows, b * heads + h) of 256 threads: the rows'
    /// state (segment i / block when causal, the last one otherwise) staged once into shared memory
    /// from the prefix, then LinearEngine.GemmRows divided by phi(q) . z + eps into o.
    /// </summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void OutputKernel<T, TCodec>(LinearEngine.Args a, int causal, ArrayView<float> phiQ, ArrayView<float> prefix, ArrayView<T> o)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        var sb = SharedMemory.Allocate<float>(LinearEngine.SliceFloats);
        var sz = SharedMemory.Allocate<float>(LinearEngine.MaxHeadDim);
        var sa = SharedMemory.Allocate<float>(LinearEngine.RowStageFloats);
        var sden = SharedMemory.Allocate<float>(LinearEngine.Tile);
        int d = a.HeadDim, c0 = Grid.IdxX * LinearEngine.Tile, tid = Group.IdxX;
        long bh = Grid.IdxZ;
        int b = (int)(bh / a.Heads);
        int h = (int)(bh - ((long)b * a.Heads));
        long bhkv = ((long)b * a.KvHeads) + (h / a.Group);
        long span = causal != 0 ? a.SegmentTokens : a.QLen;  // rows per state
        long tiles = (span + LinearEngine.Tile - 1) / LinearEngine.Tile;
        int seg = causal != 0 ? (int)(Grid.IdxY / tiles) : a.Segments - 1;
        long first = causal != 0 ? seg * span : 0;
        long r0 = first + ((Grid.IdxY % tiles) * LinearEngine.Tile);
        long r1 = XMath.Min(r0 + LinearEngine.Tile, XMath.Min(first + span, (long)a.QLen));
        if (r0 >= r1)
        {
            return;  // group-uniform
        }
        // The state slice: a warp reads 32 consecutive floats of one S row (and of its carry).
        for (int idx = tid; idx < d * LinearEngine.Tile; idx += LinearEngine.Threads)
        {
            int d1 = idx / LinearEngine.Tile, c = idx % LinearEngine.Tile;
            sb[(d1 * LinearEngine.Pad) + c] = c0 + c < d ? LinearEngine.PrefixAt(a, prefix, bhkv, seg, ((long)d1 * d) + c0 + c) : 0f;
        }
        for (int d1 = tid; d1 < d; d1 += LinearEngine.Threads)
        {
            sz[d1] = LinearEngine.PrefixAt(a, prefix, bhkv, seg, ((long)d * d) + d1);
        }
        Group.Barrier();
        LinearEngine.GemmRows(phiQ.SubView(bh * a.QLen * d), r0, r1, d, c0, true, sb, sz, sa, sden, new OutSink<T, TCodec>(o, a.Q, b, h));
    }

    /// <summary>o[q strides of (b, h, row) + col], rounded to T.</summary>
    private readonly struct OutSink<T, TCodec>(ArrayView<T> o, HeadStrides st, int b, int h) : IRowSink
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        public void Put(long row, int col, float value)
        {
            TCodec codec = default;
            o[st.Of(b, h, row) + col] = codec.Store(value);
        }
    }

    /// <summary>
    /// LinearEngine's phi pass: groups of 256 threads, one warp per row of x ([B, heads, len, D] by
    /// <paramref name="st"/>), lane l on columns l, l + 32, ... (coalesced), into contiguous f32.
    /// </summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void PhiKernel<T, TCodec>(ArrayView<T> x, HeadStrides st, int batch, int heads, int len, int d, int phi, ArrayView<float> y)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        TCodec codec = default;
        int lane = Warp.LaneIdx;
        long row = ((long)Grid.IdxX * (LinearEngine.Threads / FlashEngine.Lanes)) + Warp.WarpIdx;
        if (row >= (long)batch * heads * len)
        {
            return;  // warp-uniform
        }
        long bh = row / len;
        int n = (int)(row - (bh * len));
        int b = (int)(bh / heads);
        int h = (int)(bh - ((long)b * heads));
        long src = st.Of(b, h, n);
        long dst = row * d;
        if (phi != (int)FeatureMap.Softmax)
        {
            for (int c = lane; c < d; c += FlashEngine.Lanes)
            {
                float v = codec.Load(x[src + c]);
                y[dst + c] = phi == (int)FeatureMap.Relu ? XMath.Max(v, 0f) : v > 0f ? v + 1f : XMath.Exp(v);
            }
            return;
        }
        float max = float.NegativeInfinity;
        for (int c = lane; c < d; c += FlashEngine.Lanes)
        {
            max = XMath.Max(max, codec.Load(x[src + c]));
        }
        max = WarpReduce.Max(max);
        float sum = 0f;
        for (int c = lane; c < d; c += FlashEngine.Lanes)
        {
            sum += XMath.Exp(codec.Load(x[src + c]) - max);
        }
        sum = WarpReduce.Sum(sum);
        for (int c = lane; c < d; c += FlashEngine.Lanes)
        {
            y[dst + c] = XMath.Exp(codec.Load(x[src + c]) - max) / sum;
        }
    }

    /// <summary>
    /// LinearEngine's partial pass: group (state tile: d1 tile * column tiles + column tile, chunk,
    /// b * kv_heads + hkv) of 256 threads: the chunk's segment sums phi(k)^T [v, 1] over its keys in
    /// order, the running sum written after each segment (the chunk-local prefix). Column tile 0 also
    /// sums z for its d1 rows (threads 0..63: two whole warps).
    /// </summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void PartialKernel<T, TCodec>(LinearEngine.Args a, ArrayView<float> phiK, ArrayView<T> v, ArrayView<float> local)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        const int tile = LinearEngine.Tile, steps = LinearEngine.Steps;
        var ks = SharedMemory.Allocate<float>(steps * tile);  // phi(k)[j][d1 tile]
        var vs = SharedMemory.Allocate<float>(steps * tile);  // v[j][column tile]
        TCodec codec = default;
        int d = a.HeadDim, tid = Group.IdxX, tx = tid % 16, ty = tid / 16;
        int colTiles = (d + tile - 1) / tile;
        int d10 = (Grid.IdxX / colTiles) * tile, c0 = (Grid.IdxX % colTiles) * tile;
        long bh = Grid.IdxZ;
        int b = (int)(bh / a.KvHeads);
        int hkv = (int)(bh - ((long)b * a.KvHeads));
        bool zOwner = c0 == 0 && tid < tile;
        long sf = a.StateFloats;
        // Staging: this thread always fills column sc of rows sk, sk + 4, ...
        int sc = tid % tile, sk = tid / tile;
        bool kCol = d10 + sc < d, vCol = c0 + sc < d;
        long kp = (bh * a.KvLen * d) + d10 + sc;
        long vp = a.Kv.Of(b, hkv, 0) + c0 + sc;
        var acc = default(Acc4x4);
        float zacc = 0f;
        int seg0 = Grid.IdxY * a.ChunkSegments, seg1 = XMath.Min(seg0 + a.ChunkSegments, a.Segments);
        for (int seg = seg0; seg < seg1; seg++)
        {
            int j0 = seg * a.SegmentTokens, j1 = XMath.Min(j0 + a.SegmentTokens, a.KvLen);
            for (int jb = j0; jb < j1; jb += steps)
            {
                // Stage 32 keys: a warp reads 32 consecutive floats of a phi(k) row and of a v row.
                for (int r = 0; r < steps * tile / LinearEngine.Threads; r++)
                {
                    int kk = sk + (r * (LinearEngine.Threads / tile));
                    int j = jb + kk;
                    bool inside = j < j1;
                    ks[(kk * tile) + sc] = inside && kCol ? phiK[kp + ((long)j * d)] : 0f;
                    vs[(kk * tile) + sc] = inside && vCol ? codec.Load(v[vp + (j * a.Kv.Token)]) : 0f;
                }
                Group.Barrier();
                for (int kk = 0; kk < steps; kk++)
                {
                    acc.Fma(Quad.Of(ks, (kk * tile) + ty), Quad.Of(vs, (kk * tile) + tx));
                }
                if (zOwner)
                {
                    for (int kk = 0; kk < steps; kk++)
                    {
                        zacc += ks[(kk * tile) + tid];
                    }
                }
                Group.Barrier();
            }
            // The chunk-local inclusive prefix through this segment.
            long outAt = ((bh * a.Segments) + seg) * sf;
            for (int i = 0; i < 4; i++)
            {
                int d1 = d10 + ty + (16 * i);
                var row = acc.Row(i);
                for (int j = 0; j < 4; j++)
                {
                    int c = c0 + tx + (16 * j);
                    if (d1 < d && c < d)
                    {
                        local[outAt + ((long)d1 * d) + c] = row.At(j);
                    }
                }
            }
            if (zOwner && d10 + tid < d)
            {
                local[outAt + ((long)d * d) + d10 + tid] = zacc;
            }
        }
    }

    /// <summary>
    /// LinearEngine's scan pass: one thread per (b, hkv, state element), serial over the chunks: each
    /// chunk's exclusive offset (from the carried state when <paramref name="hasState"/>) into the
    /// carry, and the total into the carried state.
    /// </summary>
    [IlgpuKernel]
    internal static void ScanKernel(Index1D i, LinearEngine.Args a, ArrayView<float> prefix, ArrayView<float> state, ArrayView<float> zsum, int hasState)
    {
        long sf = a.StateFloats, dd = (long)a.HeadDim * a.HeadDim;
        long e = i % sf;
        long bh = i / sf;
        float run = hasState == 0 ? 0f : e < dd ? state[(bh * dd) + e] : zsum[(bh * a.HeadDim) + (e - dd)];
        for (int c = 0; c < a.Chunks; c++)
        {
            prefix[a.CarryAt + (((bh * a.Chunks) + c) * sf) + e] = run;
            int last = XMath.Min((c + 1) * a.ChunkSegments, a.Segments) - 1;
            run += prefix[(((bh * a.Segments) + last) * sf) + e];
        }
        if (hasState != 0)
        {
            if (e < dd)
            {
                state[(bh * dd) + e] = run;
            }
            else
            {
                zsum[(bh * a.HeadDim) + (e - dd)] = run;
            }
        }
    }

    private readonly struct Launcher(IlgpuBackend backend, Params p, OpTensors t) : IFloatTypeVisitor
    {
        public void Visit<T, TCodec>()
            where T : unmanaged
            where TCodec : struct, IElementCodec<T>
        {
            var g = p.Geometry;
            var a = new LinearEngine.Args(g, p.Phi, p.Segment);
            using var prefix = backend.Workspaces.Rent(DType.F32, new Shape(a.PrefixFloats), "linear_prefix");
            using var phiQ = backend.Workspaces.Rent(DType.F32, new Shape(Math.Max(1, g.Q.ElementCount)), "phi_q");
            Prefix<T, TCodec>(backend, a, t, prefix, p.State ? t["state"] : null, p.State ? t["zsum"] : null);
            if (g.Q.ElementCount > 0)
            {
                Phi<T, TCodec>(backend, a, t["q"], g.QStrides, g.Heads, g.QLen, phiQ);
                var output = backend.Kernel(OutputKernel<T, TCodec>, acc =>
                    acc.LoadStreamKernel<LinearEngine.Args, int, ArrayView<float>, ArrayView<float>, ArrayView<T>>(OutputKernel<T, TCodec>));
                long span = p.BlockTokens > 0 ? a.SegmentTokens : a.QLen;
                long rowTiles = ((span + LinearEngine.Tile - 1) / LinearEngine.Tile) * (p.BlockTokens > 0 ? a.Segments : 1);
                var grid = new Index3D(ColTiles(a), checked((int)rowTiles), g.Batch * g.Heads);
                output(new KernelConfig(grid, new Index3D(LinearEngine.Threads, 1, 1)), a, p.BlockTokens > 0 ? 1 : 0, backend.View<float>(phiQ),
                    backend.View<float>(prefix), backend.View<T>(t["o"]));
            }
            backend.Synchronize();
        }
    }

    /// <summary>Column tiles of a D-wide output.</summary>
    internal static int ColTiles(LinearEngine.Args a) => (a.HeadDim + LinearEngine.Tile - 1) / LinearEngine.Tile;

    /// <summary>phi of x's rows into <paramref name="y"/>.</summary>
    internal static void Phi<T, TCodec>(IlgpuBackend backend, LinearEngine.Args a, Tensor x, HeadStrides st, int heads, int len, Tensor y)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        var phi = backend.Kernel(PhiKernel<T, TCodec>, acc =>
            acc.LoadStreamKernel<ArrayView<T>, HeadStrides, int, int, int, int, int, ArrayView<float>>(PhiKernel<T, TCodec>));
        long rows = (long)a.Batch * heads * len;
        int warps = LinearEngine.Threads / FlashEngine.Lanes;
        phi(new KernelConfig(checked((int)((rows + warps - 1) / warps)), LinearEngine.Threads), backend.View<T>(x), st, a.Batch, heads, len, a.HeadDim, a.Phi,
            backend.View<float>(y));
    }

    /// <summary>phi(k), the chunk-local prefix and the carry into <paramref name="prefix"/> (carrying the state when given); queued, not synchronized.</summary>
    internal static void Prefix<T, TCodec>(IlgpuBackend backend, LinearEngine.Args a, OpTensors t, Tensor prefix, Tensor? state, Tensor? zsum)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        long kvRows = (long)a.Batch * a.KvHeads * a.KvLen;
        using var phiK = backend.Workspaces.Rent(DType.F32, new Shape(Math.Max(1, kvRows * a.HeadDim)), "phi_k");
        using var unused = backend.Workspaces.Rent(DType.F32, new Shape(1), "unused");
        if (kvRows > 0)
        {
            Phi<T, TCodec>(backend, a, t["k"], a.Kv, a.KvHeads, a.KvLen, phiK);
        }
        var partial = backend.Kernel(PartialKernel<T, TCodec>, acc =>
            acc.LoadStreamKernel<LinearEngine.Args, ArrayView<float>, ArrayView<T>, ArrayView<float>>(PartialKernel<T, TCodec>));
        int tiles = ColTiles(a);
        partial(new KernelConfig(new Index3D(tiles * tiles, a.Chunks, a.Batch * a.KvHeads), new Index3D(LinearEngine.Threads, 1, 1)), a,
            backend.View<float>(phiK), backend.View<T>(t["v"]), backend.View<float>(prefix));
        var scan = backend.Kernel(ScanKernel, acc =>
            acc.LoadAutoGroupedStreamKernel<Index1D, LinearEngine.Args, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(ScanKernel));
        scan(checked((int)((long)a.Batch * a.KvHeads * a.StateFloats)), a, backend.View<float>(prefix), backend.View<float>(state ?? unused),
            backend.View<float>(zsum ?? unused), state is null ? 0 : 1);
    }
}

/// <summary>
/// The carried state of causal linear attention for a streaming caller: S [B, Hkv, D, D] and z
/// [B, Hkv, D] in f32 on one backend, zero at the start; each <see cref="Step"/> attends one
/// block (or several) and leaves the totals.
/// </summary>
public sealed class LinearAttentionState : IDisposable
{
    private readonly Backend _backend;

    /// <summary>A zero state for <paramref name="batch"/> x <paramref name="kvHeads"/> heads of <paramref name="headDim"/>.</summary>
    public LinearAttentionState(Backend backend, int batch, int kvHeads, int headDim, FeatureMap phi)
    {
        _backend = backend ?? throw new ArgumentNullException(nameof(backend));
        Phi = phi;
        State = backend.Allocate(DType.F32, new Shape(batch, kvHeads, headDim, headDim), "state");
        Zsum = backend.Allocate(DType.F32, new Shape(batch, kvHeads, headDim), "zsum");
        Reset();
    }

    /// <summary>The feature map every step uses.</summary>
    public FeatureMap Phi { get; }

    /// <summary>S.</summary>
    public Tensor State { get; }

    /// <summary>z.</summary>
    public Tensor Zsum { get; }

    /// <summary>Keys absorbed so far.</summary>
    public long Keys { get; private set; }

    /// <summary>Back to zero.</summary>
    public void Reset()
    {
        State.WriteDoubles(new double[State.ElementCount]);
        Zsum.WriteDoubles(new double[Zsum.ElementCount]);
        Keys = 0;
    }

    /// <summary>
    /// Attends q (block-linear with <paramref name="blockTokens"/>, or one block when 0) over the
    /// state plus k, v, writes o, and absorbs k, v into the state.
    /// </summary>
    public void Step(Tensor q, Tensor k, Tensor v, Tensor o, HeadLayout layout, int blockTokens = 0)
    {
        var g = AttentionGeometry.Of("linear_attention", q, k, v, layout, AttentionMask.None);
        if (q.Backend != _backend)
        {
            throw new ArgumentException($"linear_attention: q '{q.Name}' is on {q.Backend.Kind.Label()}, the state on {_backend.Kind.Label()}", nameof(q));
        }
        if (!State.Shape.Equals(new Shape(g.Batch, g.KvHeads, g.HeadDim, g.HeadDim)))
        {
            throw new ArgumentException($"linear_attention: state {State.Shape} does not fit k '{k.Name}' {k.Shape}", nameof(k));
        }
        LinearAttention.Info.Run(_backend, new LinearAttention.Params(q.DType, g, Phi, blockTokens, State: true),
            new OpTensors { { "q", q }, { "k", k }, { "v", v }, { "state", State }, { "zsum", Zsum }, { "o", o } });
        Keys += g.KvLen;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        State.Dispose();
        Zsum.Dispose();
    }
}
