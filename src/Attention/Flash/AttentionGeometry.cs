// The shape of an attention problem and how its tensors are strided.
//
// q, o: [B, H, Nq, D] (HND) or [B, Nq, H, D] (NHD); k, v: the same with Hkv heads and Nkv tokens.
// Both layouts are addressed through (batch, head, token) strides with D innermost, so a
// projection's [B, N, H*D] output is attended without a copy. GQA: query head h reads KV head
// h / (H / Hkv). LSE is [B, H, Nq] in natural log.
using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Flash;

/// <summary>Element strides of a per-head tensor (the head dim has stride 1).</summary>
/// <param name="Batch">Between batches.</param>
/// <param name="Head">Between heads.</param>
/// <param name="Token">Between tokens.</param>
public readonly record struct HeadStrides(long Batch, long Head, long Token)
{
    /// <summary>The element offset of (b, h, n, 0).</summary>
    public long Of(long b, long h, long n) => (b * Batch) + (h * Head) + (n * Token);

    /// <summary>The strides of a contiguous tensor of <paramref name="heads"/> x <paramref name="tokens"/> x <paramref name="headDim"/> per batch.</summary>
    public static HeadStrides Contiguous(HeadLayout layout, long heads, long tokens, long headDim) => layout == HeadLayout.Hnd
        ? new(heads * tokens * headDim, tokens * headDim, headDim)
        : new(heads * tokens * headDim, headDim, heads * headDim);
}

/// <summary>An attention problem's extents, layout and mask.</summary>
/// <param name="Batch">B.</param>
/// <param name="Heads">Query heads H.</param>
/// <param name="KvHeads">Key/value heads Hkv (H divisible by Hkv).</param>
/// <param name="QLen">Query tokens Nq.</param>
/// <param name="KvLen">Key/value tokens Nkv.</param>
/// <param name="HeadDim">D: 64 or 128.</param>
/// <param name="Layout">HND or NHD, for all of q, k, v and o.</param>
/// <param name="Mask">The mask.</param>
public readonly record struct AttentionGeometry(int Batch, int Heads, int KvHeads, int QLen, int KvLen, int HeadDim, HeadLayout Layout, AttentionMask Mask)
{
    /// <summary>Shape of q and o.</summary>
    public Shape Q => Layout == HeadLayout.Hnd ? new(Batch, Heads, QLen, HeadDim) : new(Batch, QLen, Heads, HeadDim);

    /// <summary>Shape of k and v.</summary>
    public Shape Kv => Layout == HeadLayout.Hnd ? new(Batch, KvHeads, KvLen, HeadDim) : new(Batch, KvLen, KvHeads, HeadDim);

    /// <summary>Shape of the LSE output.</summary>
    public Shape Lse => new(Batch, Heads, QLen);

    /// <summary>Strides of q and o.</summary>
    public HeadStrides QStrides => HeadStrides.Contiguous(Layout, Heads, QLen, HeadDim);

    /// <summary>Strides of k and v.</summary>
    public HeadStrides KvStrides => HeadStrides.Contiguous(Layout, KvHeads, KvLen, HeadDim);

    /// <summary>Query heads per KV head.</summary>
    public int Group => Heads / KvHeads;

    /// <summary>Absolute position of query 0 (queries are the last Nq positions).</summary>
    public long QOffset => (long)KvLen - QLen;

    /// <summary>The default softmax scale, 1/sqrt(D).</summary>
    public float DefaultScale => 1f / MathF.Sqrt(HeadDim);

    /// <summary>Visible (query, key) pairs: the work the mask leaves (the FLOP count's N^2).</summary>
    public double VisiblePairs
    {
        get
        {
            double pairs = 0;
            for (long i = 0; i < QLen; i++)
            {
                pairs += VisibleKeys(i + QOffset);
            }
            return pairs;
        }
    }

    /// <summary>Keys the query at absolute position <paramref name="pos"/> sees, counted in closed form.</summary>
    public long VisibleKeys(long pos)
    {
        long end = Math.Max(0, Mask.KeyEnd(pos, KvLen));
        if (Mask.Kind != MaskKind.BlockCausal || Mask.WindowBlocks == 0 || pos < 0)
        {
            return end;
        }
        long windowStart = Math.Clamp(((pos / Mask.BlockTokens) - Mask.WindowBlocks + 1) * Mask.BlockTokens, 0, end);
        return end - windowStart + Math.Min((long)Mask.SinkBlocks * Mask.BlockTokens, windowStart);
    }

    /// <summary>A short label.</summary>
    public string Label => FormattableString.Invariant(
        $"B={Batch} H={Heads}{(KvHeads != Heads ? $"/{KvHeads}" : string.Empty)} Nq={QLen} Nkv={KvLen} D={HeadDim} {Layout.ToString().ToUpperInvariant()} {Mask.Label}");

    /// <summary>Throws an ArgumentException naming the offending extent.</summary>
    public void Validate()
    {
        if (Batch < 0 || QLen < 0 || KvLen < 0 || Heads <= 0 || KvHeads <= 0)
        {
            throw new ArgumentException($"attention {Label}: extents must be non-negative and head counts positive", nameof(Heads));
        }
        if (Heads % KvHeads != 0)
        {
            throw new ArgumentException($"attention {Label}: {Heads} query heads are not a multiple of {KvHeads} KV heads", nameof(KvHeads));
        }
        if (HeadDim is not (64 or 128))
        {
            throw new ArgumentException($"attention {Label}: head dim {HeadDim}; the kernels support 64 and 128", nameof(HeadDim));
        }
    }

    /// <summary>
    /// The geometry of run-op inputs q, k, v (attributes layout=hnd|nhd, mask, block_tokens,
    /// window, sinks). Shapes are checked against each other: errors name the tensors and shapes.
    /// </summary>
    public static AttentionGeometry Of(OpBinding binding) => Of(binding, "v");

    /// <summary>As <see cref="Of(OpBinding)"/>, with the values in input <paramref name="valueName"/> (k itself for ops without v).</summary>
    public static AttentionGeometry Of(OpBinding binding, string valueName)
    {
        ArgumentNullException.ThrowIfNull(binding);
        var layout = LayoutOf(binding);
        var mask = AttentionMask.Parse(binding.Get(MaskAttr), binding.Get(BlockTokensAttr), binding.Get(WindowAttr), binding.Get(SinksAttr));
        return Of(binding.Op, binding.Input("q"), binding.Input("k"), binding.Input(valueName), layout, mask);
    }

    /// <summary>As <see cref="Of(OpBinding)"/> for ops without a mask (linear attention): reads only layout.</summary>
    public static AttentionGeometry Unmasked(OpBinding binding)
    {
        ArgumentNullException.ThrowIfNull(binding);
        return Of(binding.Op, binding.Input("q"), binding.Input("k"), binding.Input("v"), LayoutOf(binding), AttentionMask.None);
    }

    private static HeadLayout LayoutOf(OpBinding binding) => binding.Get(LayoutAttr) == "nhd" ? HeadLayout.Nhd : HeadLayout.Hnd;

    /// <summary>layout=hnd|nhd.</summary>
    public static OpAttr<string> LayoutAttr { get; } = OpAttr.Choice("layout", "hnd", "head layout: hnd is [B, H, N, D], nhd is [B, N, H, D]", "hnd", "nhd");

    /// <summary>mask=none|causal|block_causal.</summary>
    public static OpAttr<string> MaskAttr { get; } = OpAttr.Choice("mask", "none",
        "none; causal (query i sees keys up to i + Nkv - Nq); block_causal (whole blocks of block_tokens, with window and sinks)", "none", "causal", "block_causal");

    /// <summary>block_tokens: the block of a block-causal mask.</summary>
    public static OpAttr<int> BlockTokensAttr { get; } = OpAttr.Int("block_tokens", 0, "tokens per block of mask=block_causal (required there)", min: 0);

    /// <summary>window: blocks a query block sees (0: all).</summary>
    public static OpAttr<int> WindowAttr { get; } = OpAttr.Int("window", 0, "mask=block_causal: the latest blocks visible, current included (0: all)", min: 0);

    /// <summary>sinks: first blocks always visible.</summary>
    public static OpAttr<int> SinksAttr { get; } = OpAttr.Int("sinks", 0, "mask=block_causal with a window: the first blocks that stay visible", min: 0);

    /// <summary>The attributes every attention-shaped op reads: layout and mask.</summary>
    public static OpAttributes Attributes { get; } = OpAttributes.Of(LayoutAttr, MaskAttr, BlockTokensAttr, WindowAttr, SinksAttr);

    /// <summary>Writes this geometry's layout and mask as attribute values (the inverse of <see cref="Of(OpBinding, string)"/>).</summary>
    public OpAttributeValues Describe(OpAttributeValues values)
    {
        ArgumentNullException.ThrowIfNull(values);
        values.Set(LayoutAttr, Layout == HeadLayout.Nhd ? "nhd" : "hnd");
        values.Set(MaskAttr, Mask.Kind switch { MaskKind.Causal => "causal", MaskKind.BlockCausal => "block_causal", _ => "none" });
        return values.Set(BlockTokensAttr, Mask.BlockTokens).Set(WindowAttr, Mask.WindowBlocks).Set(SinksAttr, Mask.SinkBlocks);
    }

    /// <summary>The geometry of q, k, v tensors in <paramref name="layout"/>.</summary>
    /// <exception cref="ArgumentException">Ranks, batch, head dim or k/v shapes disagree; the message names the tensors and shapes.</exception>
    public static AttentionGeometry Of(string op, Tensor q, Tensor k, Tensor v, HeadLayout layout, AttentionMask mask)
    {
        ArgumentNullException.ThrowIfNull(q);
        ArgumentNullException.ThrowIfNull(k);
        ArgumentNullException.ThrowIfNull(v);
        if (q.Rank != 4 || k.Rank != 4 || v.Rank != 4)
        {
            throw new ArgumentException($"{op}: q '{q.Name}' {q.Shape}, k '{k.Name}' {k.Shape} and v '{v.Name}' {v.Shape} must all be rank 4 ({Describe(layout)})", q.Name);
        }
        if (!k.Shape.Equals(v.Shape))
        {
            throw new ArgumentException($"{op}: k '{k.Name}' {k.Shape} and v '{v.Name}' {v.Shape} must have the same shape", v.Name);
        }
        int hAxis = layout == HeadLayout.Hnd ? 1 : 2;
        int nAxis = layout == HeadLayout.Hnd ? 2 : 1;
        if (q.Shape[0] != k.Shape[0] || q.Shape[3] != k.Shape[3])
        {
            throw new ArgumentException($"{op}: q '{q.Name}' {q.Shape} and k '{k.Name}' {k.Shape} must agree in batch and head dim ({Describe(layout)})", k.Name);
        }
        long heads = q.Shape[hAxis];
        long kvHeads = k.Shape[hAxis];
        if (kvHeads == 0 || heads % kvHeads != 0)
        {
            throw new ArgumentException($"{op}: q '{q.Name}' {q.Shape} has {heads} heads, not a multiple of the {kvHeads} of k '{k.Name}' {k.Shape} ({Describe(layout)})", k.Name);
        }
        return new AttentionGeometry(checked((int)q.Shape[0]), checked((int)heads), checked((int)kvHeads), checked((int)q.Shape[nAxis]), checked((int)k.Shape[nAxis]),
            checked((int)q.Shape[3]), layout, mask);
    }

    private static string Describe(HeadLayout layout) => layout == HeadLayout.Hnd ? "HND: [B, H, N, D]" : "NHD: [B, N, H, D]";
}
