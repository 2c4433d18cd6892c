namespace Zoetrope.Engine;

/// <summary>Whose arithmetic a model follows where the engine and the published pipelines round differently.</summary>
public enum MatchMode
{
    /// <summary>
    /// The engine's: fused ops in fp32 with one rounding each, the time path and modulation sums in
    /// f32, the sampler in double with one rounding to f32 (closer to Wan2.1, which keeps those in fp32).
    /// </summary>
    Engine,

    /// <summary>
    /// Self-Forcing's and LongLive's PyTorch pipelines (`--match reference`): every eager op in bf16,
    /// rounded where they round (README, "Rounding points"), the scheduler's fp32 timestep grid and
    /// bf16 latents, so a same-noise comparison agrees to bf16 precision. bf16 activations, bf16
    /// linears and dense attention only: those are what the pipelines run.
    /// </summary>
    Reference,
}
