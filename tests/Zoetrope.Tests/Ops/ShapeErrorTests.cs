using NUnit.Framework;
using Zoetrope.Attention;
using Zoetrope.Attention.Norm;
using Zoetrope.Attention.Rope;
using Zoetrope.Quant;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Ops;

/// <summary>Bad shapes for the norm, RoPE and quant ops: ArgumentExceptions that name the tensors and both shapes.</summary>
public class ShapeErrorTests
{
    private static Tensor T(DType d, params long[] shape) => Zoetrope.Runtime.Backends.Host.Allocate(d, new Shape(shape), "t");

    private static Tensor Named(string name, DType d, params long[] shape) => Zoetrope.Runtime.Backends.Host.Allocate(d, new Shape(shape), name);

    [Test]
    public void HiddenDimNotDivisibleByHeads()
    {
        var x = Named("q_proj", DType.BF16, 1, 4, 100);
        var table = WanRopeTable.Create(RopeSplit.Wan(64), 8);
        var e = Assert.Throws<ArgumentException>(() => QkNormRope.Run(x, T(DType.BF16, 100), table, T(DType.BF16, 1, 3, 4, 33), heads: 3, new RopeGrid(1, 2, 2, 0)))!;
        Assert.That(e.Message, Does.Contain("q_proj").And.Contain("[1, 4, 100]").And.Contain("3 heads"));
    }

    [Test]
    public void WanSplitOnAHeadThatIsNot128()
    {
        var x = Named("k_proj", DType.F32, 1, 4, 128);
        var table = WanRopeTable.Create(RopeSplit.Wan(64), 8);
        var e = Assert.Throws<ArgumentException>(() => QkNormRope.Run(x, T(DType.F32, 128), table, T(DType.F32, 1, 2, 4, 64), heads: 2, new RopeGrid(1, 2, 2, 0), RopeSplit.Wan128))!;
        Assert.That(e.Message, Does.Contain("44/42/42").And.Contain("128").And.Contain("64"));
    }

    [Test]
    public void OddRotaryDims()
    {
        var e = Assert.Throws<ArgumentException>(() => new RopeSplit(45, 42, 41).Validate(128))!;
        Assert.That(e.Message, Does.Contain("45/42/41").And.Contain("even"));
        Assert.Throws<ArgumentException>(() => RopeSplit.Wan(129));
    }

    [Test]
    public void RopeTableOfTheWrongShapeNamesBoth()
    {
        var x = T(DType.F32, 1, 2, 4, 64);
        var table = Named("rope_table", DType.F32, 8, 20, 2);
        var e = Assert.Throws<ArgumentException>(() => RopeApply.Run(x, table, T(DType.F32, 1, 2, 4, 64), HeadLayout.Hnd, new RopeGrid(1, 2, 2, 0)))!;
        Assert.That(e.Message, Does.Contain("table").And.Contain("[8, 32, 2]").And.Contain("[8, 20, 2]"));
    }

    [Test]
    public void MismatchedModulationShapes()
    {
        var x = Named("x", DType.BF16, 1, 6, 8);
        var framesDoNotDivide = Named("e0", DType.F32, 1, 4, 6, 8);
        var e = Assert.Throws<ArgumentException>(() => AdaLnModulate.Run(x, framesDoNotDivide, T(DType.F32, 1, 6, 8), T(DType.BF16, 1, 6, 8), chunk: 0))!;
        Assert.That(e.Message, Does.Contain("[1, 6, 8]").And.Contain("[1, 4, 6, 8]"));
        var wrongDim = Named("e0", DType.F32, 1, 3, 6, 16);
        Assert.Throws<ArgumentException>(() => AdaLnModulate.Run(x, wrongDim, T(DType.F32, 1, 6, 16), T(DType.BF16, 1, 6, 8), chunk: 0));
        var blockMod = Named("block_modulation", DType.F32, 6, 8);
        var e2 = Assert.Throws<ArgumentException>(() => AdaLnModulate.Run(x, Named("e0", DType.F32, 1, 3, 6, 8), blockMod, T(DType.BF16, 1, 6, 8), chunk: 0))!;
        Assert.That(e2.Message, Does.Contain("block_modulation").And.Contain("[1, 6, 8]").And.Contain("[6, 8]"));
        Assert.Throws<ArgumentException>(() => AdaLnModulate.Run(x, Named("e0", DType.F32, 1, 3, 6, 8), T(DType.F32, 1, 6, 8), T(DType.BF16, 1, 6, 8), chunk: 2));
    }

    [Test]
    public void QuantizeScaleShapeAndFormat()
    {
        var x = T(DType.F32, 4, 300);
        var e = Assert.Throws<ArgumentException>(() => Quantize.Run(QuantScheme.Block128Int8, x, T(DType.I8, 4, 300), Named("scale", DType.F32, 4)))!;
        Assert.That(e.Message, Does.Contain("scale").And.Contain("[1, 3]").And.Contain("[4]"));
        Assert.Throws<ArgumentException>(() => Quantize.Run(QuantScheme.PerTokenInt8 with { Format = DType.U8 }, x, T(DType.U8, 4, 300), T(DType.F32, 4)));
        var wrongCodes = Assert.Throws<ArgumentException>(() => Quantize.Run(QuantScheme.PerTokenFp8, x, Named("q", DType.I8, 4, 300), T(DType.F32, 4)))!;
        Assert.That(wrongCodes.Message, Does.Contain("'q'").And.Contain("fp8_e4m3").And.Contain("i8"));
    }
}
