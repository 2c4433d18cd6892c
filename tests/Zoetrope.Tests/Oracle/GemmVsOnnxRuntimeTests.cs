using NUnit.Framework;
using Zoetrope.Quant.Gemm;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Execution;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Tests.Oracle;

/// <summary>linear_int8's reference integer sums against ONNX Runtime's MatMulInteger (int8 x int8 -> int32).</summary>
public class GemmVsOnnxRuntimeTests
{
    [Test]
    public void IntegerSumsMatchOrtMatMulInteger()
    {
        const int m = 6, n = 5, k = 300;
        var rng = new Random(11);
        var x = new double[m * k];
        var w = new double[n * k];
        InitSpec.Integers(-127, 127).Fill(x, rng);
        InitSpec.Integers(-127, 127).Fill(w, rng);
        var p = new LinearInt8.Params(DType.F32, m, n, k, W8A8Scheme.PerTokenPerChannel, false, false);
        var ours = ReferenceRunner.Run(LinearInt8.Info.Instantiate(p), new Dictionary<string, Tensor>
        {
            ["x"] = Tensor.FromDoubles(x, DType.I8, new Shape(m, k), "x"),
            ["weight"] = Tensor.FromDoubles(w, DType.I8, new Shape(n, k), "w"),
            ["x_scale"] = Tensor.FromDoubles(Enumerable.Repeat(1.0, m).ToArray(), DType.F32, new Shape(m), "xs"),
            ["w_scale"] = Tensor.FromDoubles(Enumerable.Repeat(1.0, n).ToArray(), DType.F32, new Shape(n), "ws"),
        })["y"];
        // MatMulInteger takes B as [K, N]: W transposed.
        var wt = new double[k * n];
        for (int r = 0; r < n; r++)
        {
            for (int c = 0; c < k; c++)
            {
                wt[(c * n) + r] = w[(r * k) + c];
            }
        }
        var model = new OnnxModel().Opset(string.Empty, 21)
            .Input("x", DType.I8, m, k)
            .Initializer("wt", DType.I8, [k, n], wt)
            .Output("y", DType.I32, m, n)
            .Node("MatMulInteger", ["x", "wt"], ["y"])
            .ToBytes();
        var ort = OrtRunner.Run(model, [new("x", DType.I8, [m, k], x)], "y")["y"].Values;
        Assert.That(ours, Is.EqualTo(ort));
    }
}
