// Attention masks, as one predicate every backend evaluates the same way.
//
// Queries are the last QLen positions of the KvLen-long sequence (FlashAttention's bottom-right
// alignment): query i sits at absolute position i + (KvLen - QLen). Then for key j:
//   none          visible
//   causal        j <= pos
//   block-causal  block(j) <= block(pos), blocks of BlockTokens tokens: bidirectional inside a
//                 block, causal across blocks (the Self-Forcing / LongLive stream). A window of
//                 W > 0 blocks keeps only block(j) > block(pos) - W; the first S sink blocks
//                 stay visible whatever the window.
// A row with no visible key (causal with QLen > KvLen) yields output 0 and LSE -inf.
namespace Zoetrope.Attention.Flash;

/// <summary>Which keys a query may attend to.</summary>
public enum MaskKind
{
    /// <summary>Every key.</summary>
    None = 0,
    /// <summary>Keys at or before the query's position.</summary>
    Causal = 1,
    /// <summary>Bidirectional inside blocks, causal across them, with an optional window and sinks.</summary>
    BlockCausal = 2,
}

/// <summary>
/// An attention mask: kind, block size in tokens, window in blocks (0 = unbounded) and sink
/// blocks. Blittable, so kernels take it as a parameter and call <see cref="Visible"/>.
/// </summary>
public readonly struct AttentionMask : IEquatable<AttentionMask>
{
    /// <summary>The kind, as an int for kernels (<see cref="MaskKind"/>).</summary>
    public readonly int KindCode;

    /// <summary>Tokens per block (block-causal), else 0.</summary>
    public readonly int BlockTokens;

    /// <summary>Blocks a query sees back, its own included (0 = all).</summary>
    public readonly int WindowBlocks;

    /// <summary>Leading blocks always visible.</summary>
    public readonly int SinkBlocks;

    private AttentionMask(MaskKind kind, int blockTokens, int windowBlocks, int sinkBlocks)
    {
        KindCode = (int)kind;
        BlockTokens = blockTokens;
        WindowBlocks = windowBlocks;
        SinkBlocks = sinkBlocks;
    }

    /// <summary>No mask.</summary>
    public static AttentionMask None => default;

    /// <summary>The causal mask.</summary>
    public static AttentionMask Causal => new(MaskKind.Causal, 0, 0, 0);

    /// <summary>The block-causal mask.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A non-positive block, or a negative window or sink count.</exception>
    public static AttentionMask BlockCausal(int blockTokens, int windowBlocks = 0, int sinkBlocks = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockTokens);
        ArgumentOutOfRangeException.ThrowIfNegative(windowBlocks);
        ArgumentOutOfRangeException.ThrowIfNegative(sinkBlocks);
        return new(MaskKind.BlockCausal, blockTokens, windowBlocks, sinkBlocks);
    }

    /// <summary>The kind.</summary>
    public MaskKind Kind => (MaskKind)KindCode;

    /// <summary>Whether the query at absolute position <paramref name="pos"/> sees key <paramref name="key"/>.</summary>
    public bool Visible(long pos, long key)
    {
        if (KindCode == (int)MaskKind.Causal)
        {
            return key <= pos;
        }
        if (KindCode == (int)MaskKind.BlockCausal)
        {
            long qb = pos / BlockTokens;
            long kb = key / BlockTokens;
            return kb <= qb && (kb < SinkBlocks || WindowBlocks == 0 || kb > qb - WindowBlocks);
        }
        return true;
    }

    /// <summary>One past the last key position <paramref name="pos"/> can see (before clamping to KvLen).</summary>
    public long KeyEnd(long pos, long kvLen)
    {
        if (KindCode == (int)MaskKind.Causal)
        {
            return pos + 1 < kvLen ? pos + 1 : kvLen;
        }
        if (KindCode == (int)MaskKind.BlockCausal)
        {
            long end = ((pos / BlockTokens) + 1) * BlockTokens;
            return end < kvLen ? end : kvLen;
        }
        return kvLen;
    }

    /// <summary>
    /// Whether keys [<paramref name="k0"/>, <paramref name="k1"/>) can hold a visible key for any query
    /// position in [<paramref name="pos0"/>, <paramref name="pos1"/>]: lets kernels skip whole tiles.
    /// Conservative: true may still find every key masked, false never hides a visible key.
    /// </summary>
    public bool TileMayBeVisible(long pos0, long pos1, long k0, long k1, long kvLen)
    {
        if (k0 >= KeyEnd(pos1, kvLen))
        {
            return false;
        }
        if (KindCode == (int)MaskKind.BlockCausal && WindowBlocks > 0)
        {
            long sinkEnd = (long)SinkBlocks * BlockTokens;
            long windowStart = ((pos0 / BlockTokens) - WindowBlocks + 1) * BlockTokens;
            return k0 < sinkEnd || k1 > windowStart;
        }
        return true;
    }

    /// <summary>A short label (none, causal, block(b, w=W, s=S)).</summary>
    public string Label => Kind switch
    {
        MaskKind.Causal => "causal",
        MaskKind.BlockCausal => FormattableString.Invariant($"block({BlockTokens}{(WindowBlocks > 0 ? $", w={WindowBlocks}" : string.Empty)}{(SinkBlocks > 0 ? $", s={SinkBlocks}" : string.Empty)})"),
        _ => "none",
    };

    /// <summary>Parses run-op attributes: mask=none|causal|block, block_tokens, window, sinks.</summary>
    /// <exception cref="ArgumentException">An unknown kind or a block mask without block_tokens.</exception>
    public static AttentionMask Parse(string kind, long blockTokens, long window, long sinks) => kind switch
    {
        // window/sinks/block_tokens given with a mask that has no blocks would be silently ignored.
        "none" or "causal" when blockTokens > 0 || window > 0 || sinks > 0 => throw new ArgumentException($"attention: block_tokens, window and sinks apply to mask=block_causal, not mask={kind}"),
        "none" => None,
        "causal" => Causal,
        "block" or "block_causal" when blockTokens > 0 => BlockCausal(checked((int)blockTokens), checked((int)window), checked((int)sinks)),
        "block" or "block_causal" => throw new ArgumentException("attention: mask=block_causal needs block_tokens > 0"),
        _ => throw new ArgumentException($"attention: mask={kind}; expected none, causal or block_causal"),
    };

    /// <inheritdoc />
    public bool Equals(AttentionMask other) =>
        KindCode == other.KindCode && BlockTokens == other.BlockTokens && WindowBlocks == other.WindowBlocks && SinkBlocks == other.SinkBlocks;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is AttentionMask m && Equals(m);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(KindCode, BlockTokens, WindowBlocks, SinkBlocks);

    /// <inheritdoc />
    public override string ToString() => Label;

    /// <summary>Equality.</summary>
    public static bool operator ==(AttentionMask left, AttentionMask right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(AttentionMask left, AttentionMask right) => !left.Equals(right);
}
