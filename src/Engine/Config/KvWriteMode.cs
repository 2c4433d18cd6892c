namespace Zoetrope.Engine;

/// <summary>Which K/V a finished block leaves in the cache.</summary>
public enum KvWriteMode
{
    /// <summary>Self-Forcing: one more forward of the clean block at t = 0 writes its K/V (steps + 1 forwards per block).</summary>
    CleanRerun,

    /// <summary>StreamDiffusionV2: keep the K/V the last denoising step wrote (no extra forward).</summary>
    KeepLastStep,
}
