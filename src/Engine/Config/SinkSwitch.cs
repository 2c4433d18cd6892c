namespace Zoetrope.Engine;

/// <summary>What a prompt switch does with the sink frames' K/V.</summary>
public enum SinkSwitch
{
    /// <summary>
    /// LongLive 1.0: keep the sinks (K/V from the old prompt, write-protected during the re-run) once
    /// the cache has evicted a frame; until then (its re-run starts at frame 0, the
    /// <c>recache_start_frame == 0</c> case) every generated frame is re-run, sinks included.
    /// </summary>
    KeepAfterEviction,

    /// <summary>Always keep the sinks' K/V from the old prompt.</summary>
    Keep,

    /// <summary>Always re-run the sinks under the new prompt too.</summary>
    Recompute,
}
