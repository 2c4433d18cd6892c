using NUnit.Framework;
using Zoetrope.Quant;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Execution;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Tests.Oracle;

/// <summary>
/// The quantizers' rounding against ONNX Runtime's QuantizeLinear (opset 21), fed the scales our
/// reference chose: int8 with per-row scales (round half to even, saturation) and float8e4m3fn
/// with saturation. The codes must be identical.
/// </summary>
public class QuantVsOnnxRuntimeTests
{
    [TestCase(DType.I8, 7, 130)]
    [TestCase(DType.F8E4M3, 5, 37)]
    public void PerRowCodesMatchOrtQuantizeLinear(DType format, int rows, int cols)
    {
        var scheme = format == DType.I8 ? QuantScheme.PerChannelInt8 : QuantScheme.PerTokenFp8;
        var x = new double[rows * cols];
        InitSpec.Gaussian(0, 3).Fill(x, new Random(rows * cols));
        x = x.Select(v => (double)(float)v).ToArray();
        using var tx = Tensor.FromDoubles(x, DType.F32, new Shape(rows, cols), "x");
        var ours = ReferenceRunner.Run(Quantize.Info.Instantiate(new Quantize.Params(DType.F32, scheme, rows, cols)), new Dictionary<string, Tensor> { ["x"] = tx });
        var scales = ours["scale"];

        // ORT's managed API cannot read float8 tensors back, so both formats leave the graph as
        // float values (a value-exact Cast: codes and values correspond one to one).
        var model = new OnnxModel()
            .Input("x", DType.F32, rows, cols)
            .Initializer("scale", DType.F32, [rows], scales)
            .Initializer("zero", format, [rows], new double[rows])
            .Output("q", DType.F32, rows, cols)
            .Node("QuantizeLinear", ["x", "scale", "zero"], ["codes"], attributes: format == DType.F8E4M3 ? [("axis", 0L), ("saturate", 1L)] : [("axis", 0L)])
            .Node("Cast", ["codes"], ["q"], attributes: [("to", 1L)])
            .ToBytes();
        var ort = OrtRunner.Run(model, [new("x", DType.F32, [rows, cols], x)], "q")["q"].Values;
        int differ = ours["q"].Zip(ort, (a, b) => a.Equals(b) ? 0 : 1).Sum();
        TestContext.Out.WriteLine($"{format.Name()} [{rows}, {cols}]: {differ} of {rows * cols} codes differ from ORT");
        Assert.That(differ, Is.Zero);
    }

    [Test]
    public void TiesRoundToEvenLikeOrt()
    {
        // x / scale lands exactly on k + 0.5 for k = -4..3 (scale 0.5: x = 0.25 * odd numbers).
        double[] x = [-2.25, -1.75, -1.25, -0.75, -0.25, 0.25, 0.75, 1.25, 1.75, 63.5];
        var model = new OnnxModel()
            .Input("x", DType.F32, x.Length)
            .Initializer("scale", DType.F32, [], [0.5])
            .Initializer("zero", DType.I8, [], [0])
            .Output("q", DType.I8, x.Length)
            .Node("QuantizeLinear", ["x", "scale", "zero"], ["q"])
            .ToBytes();
        var ort = OrtRunner.Run(model, [new("x", DType.F32, [x.Length], x)], "q")["q"].Values;
        var ours = x.Select(v => (double)Zoetrope.Runtime.KernelMath.QuantMath.QuantizeInt8((float)v, 0.5f)).ToArray();
        Assert.That(ours, Is.EqualTo(ort));
        Assert.That(ours, Is.EqualTo(new double[] { -4, -4, -2, -2, 0, 0, 2, 2, 4, 127 }));
    }
}
