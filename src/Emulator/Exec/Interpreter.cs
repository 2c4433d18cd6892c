using Zoetrope.Emulator.Device;

namespace Zoetrope.Emulator.Exec;

/// <summary>
/// Runs a launch: CTAs are independent, so they are spread over host threads (one
/// <see cref="CtaRunner"/> each); inside a CTA, warps run one after another, each until it
/// blocks at a barrier or exits. The first fault or checker finding stops the launch.
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
        int workers = (int)Math.Max(1, Math.Min(ctas, Math.Max(1, device.MaxParallelCtas)));
        long next = -1;
        var gate = new object();
        void Work()
        {
            var runner = new CtaRunner(ctx);
            try
            {
                long cta;
                while (!ctx.Failed && (cta = Interlocked.Increment(ref next)) < ctas)
                {
                    runner.Run(cta);
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
        return total;
    }
}
