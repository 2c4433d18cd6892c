namespace Zoetrope.Engine;

/// <summary>One model forward of a stream, for observers (tests, debuggers): what went in and what came out.</summary>
/// <param name="Block">Block number.</param>
/// <param name="Step">Denoising step from 0, or -1 for the clean t = 0 re-run that writes the cache.</param>
/// <param name="FirstFrame">Absolute index of the block's first latent frame.</param>
/// <param name="Timestep">The timestep in [0, 1000].</param>
/// <param name="Input">The latents fed to the model [C, F, H, W].</param>
/// <param name="Velocity">The model's output v [C, F, H, W].</param>
public sealed record StepTrace(int Block, int Step, long FirstFrame, double Timestep, float[] Input, float[] Velocity);
