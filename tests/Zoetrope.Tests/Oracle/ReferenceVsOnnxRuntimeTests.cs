using NUnit.Framework;
using Zoetrope.Attention;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Elementwise;
using Zoetrope.Runtime.Execution;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Tests.Oracle;

/// <summary>
/// The reference backend against ONNX Runtime (CPU, float32): the oracle every backend is held
/// to is itself held to an implementation nobody here wrote. ORT computes in float32, the
/// reference in double, so the bound is float32's: a few units of 2^-24 relative.
/// </summary>
public class ReferenceVsOnnxRuntimeTests
{
    private static double[] Gaussian(int n, double std, double offset, int seed)
    {
        var rng = new Random(seed);
        var v = new double[n];
        InitSpec.Gaussian(offset, std).Fill(v, rng);
        // Round to float32 first: both sides then see exactly the same inputs.
        for (int i = 0; i < n; i++)
        {
            v[i] = (float)v[i];
        }
        return v;
    }

    private static double MaxRelativeError(double[] expected, double[] actual)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length));
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double scale = Math.Max(Math.Abs(expected[i]), 1e-30);
            worst = Math.Max(worst, Math.Abs(actual[i] - expected[i]) / scale);
        }
        return worst;
    }

    private static double[] Reference(OpInstance inst, params (string Name, Tensor T)[] inputs) =>
        ReferenceRunner.Run(inst, inputs.ToDictionary(i => i.Name, i => i.T)).Values.Single();

    [TestCase(1, 1, 3.0, 0.0)]
    [TestCase(3, 7, 3.0, 0.0)]
    [TestCase(17, 100, 3.0, 0.0)]
    [TestCase(2, 1000, 3.0, 0.0)]
    [TestCase(5, 33, 3.0, 50.0)]
    public void SoftmaxMatchesOrt(int rows, int cols, double std, double offset)
    {
        var x = Gaussian(rows * cols, std, offset, seed: rows * 1000 + cols);
        using var tx = Tensor.FromDoubles(x, DType.F32, new Shape(rows, cols), "x");
        var ours = Reference(Softmax.Info.Instantiate(new Softmax.Params(DType.F32, rows, cols)), ("x", tx));

        var model = new OnnxModel()
            .Input("x", DType.F32, rows, cols)
            .Output("y", DType.F32, rows, cols)
            .Node("Softmax", ["x"], ["y"], attributes: ("axis", -1L))
            .ToBytes();
        var ort = OrtRunner.Run(model, [new("x", DType.F32, [rows, cols], x)], "y")["y"];
        Assert.That(ort.Shape, Is.EqualTo(new long[] { rows, cols }));
        double err = MaxRelativeError(ours, ort.Values);
        TestContext.Out.WriteLine($"softmax [{rows}, {cols}] offset {offset}: max relative error vs ORT {err:0.00e+0}");
        // ORT's float32 exp and sum: a few float32 ulps per element, more for long rows.
        Assert.That(err, Is.LessThan(2e-6 * Math.Max(1, Math.Log2(cols))));
    }

    [TestCase(1, 2.0f, -0.5f)]
    [TestCase(4097, -1.25f, 3.0f)]
    public void AxpbyMatchesOrt(int n, float a, float b)
    {
        var x = Gaussian(n, 1, 0, seed: n);
        var y = Gaussian(n, 1, 0, seed: n + 1);
        using var tx = Tensor.FromDoubles(x, DType.F32, new Shape(n), "x");
        using var ty = Tensor.FromDoubles(y, DType.F32, new Shape(n), "y");
        var ours = Reference(Axpby.Info.Instantiate(new Axpby.Params(DType.F32, new Shape(n), a, b)), ("x", tx), ("y", ty));

        var model = new OnnxModel()
            .Input("x", DType.F32, n)
            .Input("y", DType.F32, n)
            .Initializer("a", DType.F32, [], [a])
            .Initializer("b", DType.F32, [], [b])
            .Output("out", DType.F32, n)
            .Node("Mul", ["x", "a"], ["ax"])
            .Node("Mul", ["y", "b"], ["by"])
            .Node("Add", ["ax", "by"], ["out"])
            .ToBytes();
        var ort = OrtRunner.Run(model, [new("x", DType.F32, [n], x), new("y", DType.F32, [n], y)], "out")["out"];
        // Three float32 roundings in ORT against one double computation: compare absolutely,
        // scaled by the operands' size (a*x + b*y can cancel).
        double worst = 0;
        for (int i = 0; i < n; i++)
        {
            double scale = Math.Abs(a * x[i]) + Math.Abs(b * y[i]) + 1e-30;
            worst = Math.Max(worst, Math.Abs(ort.Values[i] - ours[i]) / scale);
        }
        TestContext.Out.WriteLine($"axpby n={n}: max error vs ORT {worst:0.00e+0} of |a x| + |b y|");
        Assert.That(worst, Is.LessThan(2.5e-7));
    }
}
