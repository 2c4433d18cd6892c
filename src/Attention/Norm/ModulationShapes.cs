using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Norm;

/// <summary>
/// The shapes of Wan's per-frame modulation: x [B, F*T, dim], e0 [B, F, 6, dim], a block's
/// parameter [1, 6, dim]; and the double-precision lookup the references use.
/// </summary>
internal static class ModulationShapes
{
    /// <summary>(batch, frames, frame tokens, dim) from x and e0.</summary>
    /// <exception cref="ArgumentException">The shapes disagree; the message names both.</exception>
    public static (int Batch, int Frames, int FrameTokens, int Dim) Infer(Tensor x, Tensor modulation)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(modulation);
        if (x.Rank != 3 || modulation.Rank != 4 || modulation.Shape[2] != 6 || x.Shape[0] != modulation.Shape[0] ||
            x.Shape[2] != modulation.Shape[3] || modulation.Shape[1] == 0 || x.Shape[1] % modulation.Shape[1] != 0)
        {
            throw new ArgumentException(
                $"tensor '{x.Name}' {x.Shape} must be [B, F*T, dim] for modulation '{modulation.Name}' {modulation.Shape} of [B, F, 6, dim]",
                modulation.Name);
        }
        return (checked((int)x.Shape[0]), checked((int)modulation.Shape[1]), checked((int)(x.Shape[1] / modulation.Shape[1])), checked((int)x.Shape[2]));
    }

    /// <summary>(frames, frame tokens) for a binding: frames from e0, tokens per frame from x.</summary>
    public static (int Batch, int Frames, int FrameTokens, int Dim) Infer(OpBinding binding) =>
        Infer(binding.Input("x"), binding.Input("modulation"));

    /// <summary>Shape of x and of every per-token tensor.</summary>
    public static Shape Tokens(int batch, int frames, int frameTokens, int dim) => new(batch, (long)frames * frameTokens, dim);

    /// <summary>Shape of e0.</summary>
    public static Shape E0(int batch, int frames, int dim) => new(batch, frames, 6, dim);

    /// <summary>Shape of a block's learned modulation.</summary>
    public static Shape Block(int dim) => new(1, 6, dim);

    /// <summary>Modulation vector <paramref name="index"/> for token <paramref name="row"/>, column <paramref name="col"/>, in double.</summary>
    public static double Vector(double[] e0, double[] block, int frames, int frameTokens, int dim, long row, int col, int index)
    {
        long tokens = (long)frames * frameTokens;
        long b = row / tokens;
        long f = (row % tokens) / frameTokens;
        return e0[((((b * frames) + f) * 6) + index) * dim + col] + block[((long)index * dim) + col];
    }

    /// <summary>Inputs for e0 (the timestep projection's scale) and a block's parameter (small, as trained).</summary>
    public static InitSpec E0Init { get; } = InitSpec.Gaussian(0, 0.5);

    /// <summary>Init of a block's learned modulation.</summary>
    public static InitSpec BlockInit { get; } = InitSpec.Gaussian(0, 0.1);
}
