using Zoetrope.Emulator.Device;

namespace Zoetrope.Emulator.Exec;

/// <summary>
/// Runs a launch: CTAs are independent, so they are spread over host threads (one
/// <see cref="CtaRunner"/> each); inside a CTA, warps run one after another, each until it
/// blocks at a barrier or exits. The first fault or checker finding stops the launch. A sampling
/// device (<see cref="EmuDevice.SampleCtas"/>) runs a stratified sample of the grid and scales the
/// counts.
/// </summary>
internal static class Interpreter
{
    public static LaunchStats Run(EmuDevice device, EmuFunction function, LaunchConfig config, ReadOnlySpan<byte> parameters)
    {
        var ctx = new LaunchContext(device, function, config, parameters.ToArray());
        var total = new LaunchStats
        {
            Kernel = function.Name,
            Geometry = $"grid {config.Grid} block {config.Block} smem {config.DynamicSharedBytes}",
        };
        long ctas = config.Grid.Count;
        long[]? sample = device.SampleCtas > 0 && device.SampleCtas < ctas ? Sample(ctas, device.SampleCtas) : null;
        long count = sample?.LongLength ?? ctas;
        int workers = (int)Math.Max(1, Math.Min(count, Math.Max(1, device.MaxParallelCtas)));
        long next = -1;
        var gate = new object();
        void Work()
        {
            var runner = new CtaRunner(ctx);
            try
            {
                long i;
                while (!ctx.Failed && (i = Interlocked.Increment(ref next)) < count)
                {
                    runner.Run(sample is null ? i : sample[i]);
                }
            }
            catch (EmulatorException e)
            {
                ctx.Fail(e);
            }
            catch (Exception e) when (e is IndexOutOfRangeException or InvalidOperationException or ArgumentException or OverflowException or NullReferenceException)
            {
                ctx.Fail(new EmulatorException(EmuError.IllegalInstruction, $"{function.Name}: internal emulator error at {runner.Where()}: {e.Message}", e));
            }
            lock (gate)
            {
                total.Add(runner.Stats);
            }
        }
        if (workers == 1)
        {
            Work();
        }
        else
        {
            Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, _ => Work());
        }
        if (ctx.Failure is { } failure)
        {
            throw failure;
        }
        if (sample is not null)
        {
            total.ScaleToGrid(ctas);
        }
        return total;
    }

    /// <summary>
    /// <paramref name="n"/> CTA indices of a grid of <paramref name="ctas"/>, ascending: one from each
    /// of n equal strides, at an offset a fixed hash of the stride picks (so the same launch samples
    /// the same CTAs every run, and a stride equal to a grid dimension does not always pick the same row).
    /// </summary>
    internal static long[] Sample(long ctas, int n)
    {
        var picked = new long[n];
        for (int s = 0; s < n; s++)
        {
            long lo = s * ctas / n, hi = (s + 1) * ctas / n;
            ulong z = (ulong)s * 0x9E3779B97F4A7C15UL + 0x632BE59BD9B4E019UL;  // splitmix64's finalizer over the stride
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            picked[s] = lo + (long)(z % (ulong)(hi - lo));
        }
        return picked;
    }
}
