using NUnit.Framework;
using Zoetrope.Attention.Norm;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Execution;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Tests.Oracle;

/// <summary>The norms' reference against ONNX Runtime's RMSNormalization (opset 23) and LayerNormalization (opset 17).</summary>
public class NormVsOnnxRuntimeTests
{
    private static double[] Values(int n, int seed, double mean, double std)
    {
        var v = new double[n];
        InitSpec.Gaussian(mean, std).Fill(v, new Random(seed));
        return v.Select(x => (double)(float)x).ToArray();
    }

    private static double MaxAbs(double[] a, double[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max();

    [TestCase(3, 7)]
    [TestCase(4, 1536)]
    public void RmsNormMatchesOrt(int rows, int dim)
    {
        var x = Values(rows * dim, rows + dim, 0, 2);
        var w = Values(dim, 7, 1, 0.25);
        using var tx = Tensor.FromDoubles(x, DType.F32, new Shape(rows, dim), "x");
        using var tw = Tensor.FromDoubles(w, DType.F32, new Shape(dim), "weight");
        var ours = ReferenceRunner.Run(RmsNorm.Info.Instantiate(new RmsNorm.Params(DType.F32, rows, dim, 1e-6f)),
            new Dictionary<string, Tensor> { ["x"] = tx, ["weight"] = tw })["y"];
        var model = new OnnxModel().Opset(string.Empty, 23)
            .Input("x", DType.F32, rows, dim).Input("w", DType.F32, dim).Output("y", DType.F32, rows, dim)
            .Node("RMSNormalization", ["x", "w"], ["y"], attributes: [("axis", -1L), ("epsilon", 1e-6f)])
            .ToBytes();
        var ort = OrtRunner.Run(model, [new("x", DType.F32, [rows, dim], x), new("w", DType.F32, [dim], w)], "y")["y"].Values;
        double err = MaxAbs(ours, ort);
        TestContext.Out.WriteLine($"rms_norm [{rows}, {dim}]: max abs difference from ORT {err:0.00e+0}");
        Assert.That(err, Is.LessThan(4e-6));
    }

    [TestCase(3, 7, false)]
    [TestCase(4, 1536, true)]
    public void LayerNormMatchesOrt(int rows, int dim, bool affine)
    {
        var x = Values(rows * dim, rows * dim, 0.5, 2);
        var w = affine ? Values(dim, 3, 1, 0.25) : Enumerable.Repeat(1.0, dim).ToArray();
        var b = affine ? Values(dim, 4, 0, 1) : new double[dim];
        using var tx = Tensor.FromDoubles(x, DType.F32, new Shape(rows, dim), "x");
        var inputs = new Dictionary<string, Tensor> { ["x"] = tx };
        if (affine)
        {
            inputs["weight"] = Tensor.FromDoubles(w, DType.F32, new Shape(dim), "weight");
            inputs["bias"] = Tensor.FromDoubles(b, DType.F32, new Shape(dim), "bias");
        }
        var ours = ReferenceRunner.Run(LayerNorm.Info.Instantiate(new LayerNorm.Params(DType.F32, rows, dim, 1e-5f, affine)), inputs)["y"];
        var model = new OnnxModel().Opset(string.Empty, 17)
            .Input("x", DType.F32, rows, dim).Initializer("w", DType.F32, [dim], w).Initializer("b", DType.F32, [dim], b)
            .Output("y", DType.F32, rows, dim)
            .Node("LayerNormalization", ["x", "w", "b"], ["y"], attributes: [("axis", -1L), ("epsilon", 1e-5f)])
            .ToBytes();
        var ort = OrtRunner.Run(model, [new("x", DType.F32, [rows, dim], x)], "y")["y"].Values;
        double err = MaxAbs(ours, ort);
        TestContext.Out.WriteLine($"layer_norm [{rows}, {dim}] affine={affine}: max abs difference from ORT {err:0.00e+0}");
        Assert.That(err, Is.LessThan(4e-6));
    }
}
