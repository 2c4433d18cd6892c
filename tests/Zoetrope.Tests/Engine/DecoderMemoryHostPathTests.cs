// The decoders' host path: Tensor.ToFloats, which they read their frames back with, gives bit
// for bit what (float) of ToDoubles gives, for every float dtype it takes, specials included,
// on contiguous and strided views, without the 8-bytes-per-element array between.
using NUnit.Framework;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Engine;

[TestFixture]
public sealed class DecoderMemoryHostPathTests
{
    private static readonly double[] Values =
    [
        0, -0.0, 1, -1, 0.1, 1.0 / 3, 65504, 70000, 1e-7, 6e-8, 1e-40, 3.4e38, -2.5e-3, 0.999, 448, 57344,
        double.PositiveInfinity, double.NegativeInfinity, double.NaN,
    ];

    [TestCase("f32")]
    [TestCase("f16")]
    [TestCase("bf16")]
    [TestCase("fp8_e4m3")]
    [TestCase("fp8_e5m2")]
    public void ToFloatsIsTheCastOfToDoubles(string name)
    {
        var dtype = DTypes.Parse(name);
        var values = Enumerable.Range(0, 4).SelectMany(i => Values.Select(v => v * (i + 1))).ToArray();
        using var t = Tensor.FromDoubles(values, dtype, new Shape(4, Values.Length), "t");
        foreach (var view in new[] { t, t.Slice(0, 1, 2), t.Transpose(0, 1) })
        {
            var expected = view.ToDoubles().Select(v => BitConverter.SingleToInt32Bits((float)v)).ToArray();
            var got = view.ToFloats().Select(BitConverter.SingleToInt32Bits).ToArray();
            Assert.That(got, Is.EqualTo(expected), $"{name} {view.Shape}");
        }
    }

    [Test]
    public void TypesAFloatCannotHoldAreRefused()
    {
        using var t = Tensor.FromDoubles([1, 2], DType.F64, new Shape(2), "wide");
        var e = Assert.Throws<ArgumentException>(() => t.ToFloats());
        Assert.That(e!.Message, Does.Contain("'wide'").And.Contain("f64"));
    }
}
