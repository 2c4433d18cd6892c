// FlowSampler: the few-step flow-matching sampler that streaming blocks and one-shot generation
// share, in one place so the two cannot drift apart (s = t / 1000):
//   x = draw 0
//   for each step i: v = velocity(x, t_i);  x0 = x - s_i v
//                    x = (1 - s_{i+1}) x0 + s_{i+1} * draw (i + 1)     (not after the last step)
// Every update is computed in double from the f32 operands and rounded to f32 once, the same
// arithmetic the session always used, so a seed's latents are unchanged by the refactor.
// With a FlowSchedule (MatchMode.Reference) the updates are the PyTorch pipelines' instead:
// latents and noise in bf16, sigma the fp32 grid's nearest entry, x0 in double rounded once to
// bf16 (their _convert_flow_pred_to_x0), the re-noise as four fp32 ops rounded once to bf16
// (their add_noise: (1 - sigma), (1 - sigma) * x0, sigma * noise, the sum).
namespace Zoetrope.Engine;

/// <summary>The flow-matching update and re-noise equations, and the loop over the steps.</summary>
internal static class FlowSampler
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

    /// <summary>The pipelines' x0 = x - sigma v: in double, rounded once to bf16 (held in f32).</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void DenoiseBf16(ReadOnlySpan<float> x, ReadOnlySpan<float> v, float sigma, Span<float> x0)
    {
        if (v.Length != x.Length || x0.Length != x.Length)
        {
            throw new ArgumentException($"sampler: x has {x.Length} values, v {v.Length}, x0 {x0.Length}");
        }
        for (int j = 0; j < x.Length; j++)
        {
            // double -> bf16 goes through binary32 in PyTorch (c10::BFloat16 is built from a float).
            x0[j] = Bf16((float)(x[j] - ((double)sigma * v[j])));
        }
    }

    /// <summary>The pipelines' add_noise: fp32 (1 - sigma) * x0 + sigma * noise, one op at a time, rounded once to bf16.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void RenoiseBf16(ReadOnlySpan<float> x0, ReadOnlySpan<float> noise, float sigma, Span<float> x)
    {
        if (noise.Length != x0.Length || x.Length != x0.Length)
        {
            throw new ArgumentException($"sampler: x0 has {x0.Length} values, noise {noise.Length}, x {x.Length}");
        }
        float keep = 1f - sigma;
        for (int j = 0; j < x0.Length; j++)
        {
            float a = keep * x0[j];
            float b = sigma * noise[j];
            x[j] = Bf16(a + b);
        }
    }

    /// <summary><paramref name="values"/> rounded to bf16 in place (the pipelines draw their noise in bf16).</summary>
    public static void RoundBf16(Span<float> values)
    {
        for (int j = 0; j < values.Length; j++)
        {
            values[j] = Bf16(values[j]);
        }
    }

    /// <summary>
    /// Runs the steps <paramref name="timesteps"/> from <paramref name="x"/> (the initial noise,
    /// overwritten: it holds each step's input in turn) and returns the last x0.
    /// <paramref name="velocity"/>(i, x) is the model's v for step i's input; <paramref name="draw"/>(i, buffer)
    /// fills the fresh noise mixed in before step i (i &gt;= 1); <paramref name="stepDone"/>(i) is called
    /// when step i's update is done (timing).
    /// </summary>
    /// <remarks>With <paramref name="schedule"/>, the pipelines' arithmetic (see the file's header): the initial noise and every draw are rounded to bf16 first.</remarks>
    public static float[] Run(IReadOnlyList<double> timesteps, float[] x, Func<int, float[], float[]> velocity, Action<int, float[]> draw, Action<int>? stepDone = null,
        FlowSchedule? schedule = null)
    {
        ArgumentNullException.ThrowIfNull(timesteps);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(velocity);
        ArgumentNullException.ThrowIfNull(draw);
        var x0 = new float[x.Length];
        var noise = timesteps.Count > 1 ? new float[x.Length] : [];
        if (schedule is not null)
        {
            RoundBf16(x);
        }
        for (int i = 0; i < timesteps.Count; i++)
        {
            var v = velocity(i, x);
            if (schedule is null)
            {
                Denoise(x, v, timesteps[i], x0);
            }
            else
            {
                DenoiseBf16(x, v, schedule.Nearest(timesteps[i]).Sigma, x0);
            }
            if (i + 1 < timesteps.Count)
            {
                draw(i + 1, noise);
                if (schedule is null)
                {
                    Renoise(x0, noise, timesteps[i + 1], x);
                }
                else
                {
                    RoundBf16(noise);
                    RenoiseBf16(x0, noise, schedule.Nearest(timesteps[i + 1]).Sigma, x);
                }
            }
            stepDone?.Invoke(i);
        }
        return x0;
    }

    private static float Bf16(float v) => BFloat16.FromSingle(v).ToSingle();
}
