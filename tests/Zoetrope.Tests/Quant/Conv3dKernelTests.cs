using NUnit.Framework;
using Zoetrope.Quant.Conv;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Quant;

/// <summary>
/// conv3d's refusals through <see cref="Conv3d.Run"/> on a kernel backend: a bad weight shape, a
/// time shuffle that does not divide Cout, a y of the wrong shape each get an ArgumentException
/// naming the tensor and both shapes before any kernel runs (the harness's cases cover the
/// kernels' values).
/// </summary>
public class Conv3dKernelTests
{
    private static readonly Backend Cpu = Zoetrope.Runtime.Backends.Get(BackendKind.IlgpuCpu);

    [Test]
    public void WeightWithAnotherCinIsRefusedNamingBoth()
    {
        using var x = Cpu.Allocate(DType.BF16, new Shape(2, 4, 4, 8), "frames");
        using var w = Cpu.Allocate(DType.BF16, new Shape(16, 3, 3, 3, 6), "conv1.weight");
        using var y = Cpu.Allocate(DType.BF16, new Shape(2, 4, 4, 16), "out");
        var e = Assert.Throws<ArgumentException>(() => Conv3d.Run(x, w, null, null, y))!;
        Assert.That(e.Message, Does.Contain("frames").And.Contain("conv1.weight").And.Contain("[16, 3, 3, 3, 6]"));
    }

    [Test]
    public void TimeShuffleThatDoesNotDivideCoutIsRefused()
    {
        using var x = Cpu.Allocate(DType.F16, new Shape(1, 4, 4, 8), "frames");
        using var w = Cpu.Allocate(DType.F16, new Shape(8, 3, 1, 1, 8), "time_conv.weight");
        using var y = Cpu.Allocate(DType.F16, new Shape(3, 4, 4, 2), "out");
        var e = Assert.Throws<ArgumentException>(() => Conv3d.Run(x, w, null, null, y, timeShuffle: 3))!;
        Assert.That(e.Message, Does.Contain("time_shuffle 3").And.Contain("Cout 8").And.Contain("time_conv.weight"));
    }

    [Test]
    public void OutputOfTheWrongShapeIsRefusedWithTheExpectedOne()
    {
        // Upsampled x2 and shuffled in time by 2: y must be [To*2, 8, 8, 4] = [2, 8, 8, 4].
        using var x = Cpu.Allocate(DType.F32, new Shape(1, 4, 4, 8), "frames");
        using var w = Cpu.Allocate(DType.F32, new Shape(8, 1, 3, 3, 8), "up.weight");
        using var y = Cpu.Allocate(DType.F32, new Shape(2, 4, 4, 4), "out");
        var e = Assert.Throws<ArgumentException>(() => Conv3d.Run(x, w, null, null, y, upsample: 2, timeShuffle: 2))!;
        Assert.That(e.Message, Does.Contain("'out'").And.Contain("[2, 4, 4, 4]").And.Contain("[2, 8, 8, 4]"));
    }

    [Test]
    public void BiasMustBeF32WithCoutEntries()
    {
        using var x = Cpu.Allocate(DType.BF16, new Shape(1, 4, 4, 8), "frames");
        using var w = Cpu.Allocate(DType.BF16, new Shape(16, 1, 1, 1, 8), "proj.weight");
        using var b = Cpu.Allocate(DType.BF16, new Shape(16), "proj.bias");
        using var y = Cpu.Allocate(DType.BF16, new Shape(1, 4, 4, 16), "out");
        var e = Assert.Throws<ArgumentException>(() => Conv3d.Run(x, w, b, null, y))!;
        Assert.That(e.Message, Does.Contain("proj.bias").And.Contain("expected f32"));
    }
}
