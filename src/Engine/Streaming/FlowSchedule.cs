// FlowSchedule: the fp32 timestep grid of the PyTorch pipelines' scheduler, for the reference
// numerics (MatchMode.Reference). Self-Forcing and LongLive build FlowMatchScheduler(shift,
// sigma_min = 0, extra_one_step = True) and set_timesteps(1000): in fp32 tensors,
//   sigmas    = linspace(1, 0, 1001)[:-1]                       torch.linspace's float kernel:
//               start + step*i for i < 1001/2, end - step*(1000 - i) after, step = (end - start)/1000
//   sigmas    = shift*sigmas / (1 + (shift - 1)*sigmas)          one fp32 op at a time
//   timesteps = sigmas * 1000
// and then look a timestep's sigma up by the nearest grid timestep (argmin |timesteps - t|), both
// for x0 = x - sigma v and for the re-noise. With warp_denoising_step the model is fed the grid's
// fp32 values themselves (1000, 937.5, 833.3333129882812, 625 for [1000, 750, 500, 250] at shift 5).
// The engine's own sampler uses s = t / 1000 in double instead.
namespace Zoetrope.Engine;

/// <summary>The pipelines' fp32 scheduler grid: 1000 timesteps and their sigmas.</summary>
internal sealed class FlowSchedule
{
    private const int Steps = 1000;
    private readonly float[] _sigmas = new float[Steps];
    private readonly float[] _timesteps = new float[Steps];

    private FlowSchedule(double shift)
    {
        Shift = shift;
        const int points = Steps + 1;
        float step = (0f - 1f) / (points - 1);
        float fshift = (float)shift;
        for (int i = 0; i < Steps; i++)
        {
            float s = i < points / 2 ? 1f + (step * i) : 0f - (step * (points - i - 1));
            float num = fshift * s;
            float den = 1f + ((fshift - 1f) * s);
            _sigmas[i] = num / den;
            _timesteps[i] = _sigmas[i] * Steps;
        }
    }

    /// <summary>The shift the grid was built with.</summary>
    public double Shift { get; }

    /// <summary>The grid of the pipelines' scheduler at <paramref name="shift"/> (theirs: 5).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A shift that is not positive and finite.</exception>
    public static FlowSchedule Torch(double shift)
    {
        if (!(shift > 0) || double.IsInfinity(shift))
        {
            throw new ArgumentOutOfRangeException(nameof(shift), shift, "schedule: the shift must be positive and finite");
        }
        return new FlowSchedule(shift);
    }

    /// <summary>The grid entry nearest <paramref name="timestep"/>: its fp32 timestep and sigma (the first of equals, as argmin takes).</summary>
    public (float Timestep, float Sigma) Nearest(double timestep)
    {
        int best = 0;
        double gap = double.PositiveInfinity;
        for (int i = 0; i < Steps; i++)
        {
            // The pipelines subtract in fp32 (timesteps and t are fp32 tensors).
            double d = Math.Abs(_timesteps[i] - (float)timestep);
            if (d < gap)
            {
                (best, gap) = (i, d);
            }
        }
        return (_timesteps[best], _sigmas[best]);
    }

    /// <summary>
    /// What the model is fed for each of <paramref name="timesteps"/>: the nearest grid value, as the
    /// pipelines' warped denoising list is (t = 0, the clean re-run's, stays 0).
    /// </summary>
    public double[] ModelTimesteps(IReadOnlyList<double> timesteps)
    {
        ArgumentNullException.ThrowIfNull(timesteps);
        return timesteps.Select(t => t == 0 ? 0.0 : Nearest(t).Timestep).ToArray();
    }
}
