using NUnit.Framework;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Numerics;

/// <summary>ElementConvert: every dtype round-trips its own values; integers round to even and saturate.</summary>
public class ElementConvertTests
{
    [TestCaseSource(typeof(DTypes), nameof(DTypes.All))]
    public void RepresentableValuesRoundTrip(DType dtype)
    {
        double[] values = dtype.IsInteger() ? [0, 1, -1, 7, 100] : [0, 1, -1.5, 0.25, 3, -448];
        if (dtype == DType.U8)
        {
            values = [0, 1, 7, 100, 255];
        }
        var bytes = new byte[values.Length * dtype.Size()];
        ElementConvert.FromDoubles(dtype, values, bytes);
        var back = new double[values.Length];
        ElementConvert.ToDoubles(dtype, bytes, back);
        Assert.That(back, Is.EqualTo(values));
    }

    [Test]
    public void IntegersRoundToEvenAndSaturate()
    {
        var b = new byte[4];
        double Rt(DType t, double v)
        {
            ElementConvert.Write(t, b, 0, v);
            return ElementConvert.Read(t, b, 0);
        }
        Assert.That(Rt(DType.I8, 2.5), Is.EqualTo(2));
        Assert.That(Rt(DType.I8, 3.5), Is.EqualTo(4));
        Assert.That(Rt(DType.I8, -2.5), Is.EqualTo(-2));
        Assert.That(Rt(DType.I8, 300), Is.EqualTo(127));
        Assert.That(Rt(DType.I8, -300), Is.EqualTo(-128));
        Assert.That(Rt(DType.U8, -3), Is.EqualTo(0));
        Assert.That(Rt(DType.U8, 255.6), Is.EqualTo(255));
        Assert.That(Rt(DType.I32, double.NaN), Is.EqualTo(0));
        Assert.That(Rt(DType.I32, 1e12), Is.EqualTo(int.MaxValue));
        Assert.That(Rt(DType.F32, 0.1), Is.EqualTo((double)0.1f));
    }
}
