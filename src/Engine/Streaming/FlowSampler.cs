// FlowSampler: the few-step flow-matching sampler that streaming blocks and one-shot generation
// share, in one place so the two cannot drift apart (s = t / 1000):
//   x = draw 0
//   for each step i: v = velocity(x, t_i);  x0 = x - s_i v
//                    x = (1 - s_{i+1}) x0 + s_{i+1} * draw (i + 1)     (not after the last step)
// Every update is computed in double from the f32 operands and rounded to f32 once, the same
// arithmetic the session always used, so a seed's latents are unchanged by the refactor.
namespace Zoetrope.Engine;

/// <summary>The flow-matching update and re-noise equations, and the loop over the steps.</summary>
public static class FlowSampler
{
    /// <summary>x0 = x - s v with s = <paramref name="timestep"/> / 1000, into <paramref name="x0"/>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void Denoise(ReadOnlySpan<float> x, ReadOnlySpan<float> v, double timestep, Span<float> x0)
    {
        if (v.Length != x.Length || x0.Length != x.Length)
        {
            throw new ArgumentException($"sampler: x has {x.Length} values, v {v.Length}, x0 {x0.Length}");
        }
        double s = timestep / 1000.0;
        for (int j = 0; j < x.Length; j++)
        {
            x0[j] = (float)(x[j] - (s * v[j]));
        }
    }

    /// <summary>x = (1 - s) x0 + s eps with s = <paramref name="timestep"/> / 1000, into <paramref name="x"/>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void Renoise(ReadOnlySpan<float> x0, ReadOnlySpan<float> noise, double timestep, Span<float> x)
    {
        if (noise.Length != x0.Length || x.Length != x0.Length)
        {
            throw new ArgumentException($"sampler: x0 has {x0.Length} values, noise {noise.Length}, x {x.Length}");
        }
        double s = timestep / 1000.0;
        for (int j = 0; j < x0.Length; j++)
        {
            x[j] = (float)(((1 - s) * x0[j]) + (s * noise[j]));
        }
    }

    /// <summary>
    /// Runs the steps <paramref name="timesteps"/> from <paramref name="x"/> (the initial noise,
    /// overwritten: it holds each step's input in turn) and returns the last x0.
    /// <paramref name="velocity"/>(i, x) is the model's v for step i's input; <paramref name="draw"/>(i, buffer)
    /// fills the fresh noise mixed in before step i (i &gt;= 1); <paramref name="stepDone"/>(i) is called
    /// when step i's update is done (timing).
    /// </summary>
    public static float[] Run(IReadOnlyList<double> timesteps, float[] x, Func<int, float[], float[]> velocity, Action<int, float[]> draw, Action<int>? stepDone = null)
    {
        ArgumentNullException.ThrowIfNull(timesteps);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(velocity);
        ArgumentNullException.ThrowIfNull(draw);
        var x0 = new float[x.Length];
        var noise = timesteps.Count > 1 ? new float[x.Length] : [];
        for (int i = 0; i < timesteps.Count; i++)
        {
            var v = velocity(i, x);
            Denoise(x, v, timesteps[i], x0);
            if (i + 1 < timesteps.Count)
            {
                draw(i + 1, noise);
                Renoise(x0, noise, timesteps[i + 1], x);
            }
            stepDone?.Invoke(i);
        }
        return x0;
    }
}
