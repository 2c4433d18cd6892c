namespace Zoetrope.Engine;

/// <summary>
/// The attention mask of a prompt switch's t = 0 re-run of the cached frames (LongLive's KV-recache).
/// Keys are the kept sinks (as cached, under the old prompt) and the re-run frames' fresh K/V.
/// </summary>
public enum RecacheMask
{
    /// <summary>
    /// LongLive 1.0 as released: no mask. Its recache builds a block mask but the KV-cache branch of
    /// its attention never reads it, so every re-run frame sees the sinks and every re-run frame,
    /// later ones included.
    /// </summary>
    None,

    /// <summary>
    /// Block-causal: each re-run block sees the sinks, itself and the blocks before it, as it did
    /// when it was generated (the mask LongLive builds for the recache; arguably the principled one).
    /// </summary>
    BlockCausal,
}
