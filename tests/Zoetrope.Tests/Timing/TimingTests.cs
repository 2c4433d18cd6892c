using NUnit.Framework;
using Zoetrope.Attention;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Timing;

/// <summary>Statistics, timers and the profiler's per-op spans.</summary>
public class TimingTests
{
    [Test]
    public void PercentilesInterpolateLikeNumpy()
    {
        double[] s = [4, 1, 3, 2];
        Assert.That(Statistics.Median(s), Is.EqualTo(2.5));
        Assert.That(Statistics.Percentile(s, 0), Is.EqualTo(1));
        Assert.That(Statistics.Percentile(s, 100), Is.EqualTo(4));
        Assert.That(Statistics.Percentile(s, 90), Is.EqualTo(3.7).Within(1e-12));
        Assert.That(Statistics.Median([5.0]), Is.EqualTo(5));
        Assert.Throws<ArgumentException>(() => Statistics.Median([]));
        Assert.Throws<ArgumentException>(() => Statistics.Percentile(s, 101));
    }

    [Test]
    public void MeasureRunsWarmupAndRepeats()
    {
        int calls = 0;
        var stats = TimingStats.Measure(Runtime.Backends.Host, () => calls++, warmup: 2, repeat: 5);
        Assert.That(calls, Is.EqualTo(7));
        Assert.That(stats.Iterations, Is.EqualTo(5));
        Assert.That(stats.MinMs, Is.LessThanOrEqualTo(stats.MedianMs));
        Assert.That(stats.MedianMs, Is.LessThanOrEqualTo(stats.P90Ms));
    }

    [Test]
    public void ActiveProfilerRecordsEveryOpCallByName()
    {
        var cpu = Runtime.Backends.Get(BackendKind.IlgpuCpu);
        using var x = Tensor.FromDoubles([1, 2, 3, 4], DType.F32, new Shape(2, 2), "x").To(cpu);
        using var y = cpu.Allocate(DType.F32, new Shape(2, 2), "y");
        using var profiler = new Profiler(cpu);
        using (profiler.Activate())
        {
            Softmax.Run(x, y);
            Softmax.Run(x, y);
            using (profiler.Span("custom"))
            {
                cpu.Synchronize();
            }
        }
        Softmax.Run(x, y);
        var entries = profiler.Collect();
        var softmax = entries.Single(e => e.Name == "softmax");
        Assert.That(softmax.Count, Is.EqualTo(2), "only calls inside the active scope are recorded");
        Assert.That(softmax.TotalMs, Is.GreaterThan(0));
        Assert.That(entries.Select(e => e.Name), Does.Contain("custom"));
        Assert.That(Profiler.Current, Is.Null);
    }
}
