namespace Zoetrope.Engine;

/// <summary>How cached keys get their temporal RoPE position (../shared/REFERENCE.md, RoPE policies).</summary>
public enum RopePolicy
{
    /// <summary>
    /// K rotated once, at write time, by its absolute frame index (what the released checkpoints
    /// were trained with); a run stops with a clear error before the 1024-position table runs out.
    /// </summary>
    Absolute,

    /// <summary>
    /// K stored un-rotated and rotated on read by its place in the cache: sinks at 0..s-1, then
    /// the window in time order, the current block last (LongLive's "infinity"): unbounded length.
    /// </summary>
    CacheRelative,
}
