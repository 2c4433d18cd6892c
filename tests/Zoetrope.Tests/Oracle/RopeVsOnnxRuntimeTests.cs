using NUnit.Framework;
using Zoetrope.Attention;
using Zoetrope.Attention.Rope;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Execution;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Tests.Oracle;

/// <summary>
/// The time axis of Wan's 3D RoPE against ONNX Runtime's RotaryEmbedding (opset 23): with a
/// grid of N frames of one token, only the first 44 dims (22 adjacent pairs) rotate, by the
/// frame index, which is ORT's interleaved partial rotary of dim 44 with position ids 0..N-1.
/// </summary>
public class RopeVsOnnxRuntimeTests
{
    [Test]
    public void TimeAxisMatchesOrtRotaryEmbedding()
    {
        const int heads = 2, n = 9, d = 128, rot = 44, positions = 16;
        var split = RopeSplit.Wan128;
        var x = new double[heads * n * d];
        InitSpec.Normal.Fill(x, new Random(5));
        x = x.Select(v => (double)(float)v).ToArray();
        using var tx = Tensor.FromDoubles(x, DType.F32, new Shape(1, heads, n, d), "x");
        using var table = WanRopeTable.Create(split, positions);
        var grid = new RopeGrid(n, 1, 1, 0);
        var ours = ReferenceRunner.Run(RopeApply.Info.Instantiate(new RopeApply.Params(DType.F32, 1, heads, d, HeadLayout.Hnd, grid, split, positions)),
            new Dictionary<string, Tensor> { ["x"] = tx, ["table"] = table })["out"];

        var cos = new double[positions * (rot / 2)];
        var sin = new double[positions * (rot / 2)];
        for (int p = 0; p < positions; p++)
        {
            for (int j = 0; j < rot / 2; j++)
            {
                double a = WanRopeTable.Angle(split, j, p);
                cos[(p * (rot / 2)) + j] = Math.Cos(a);
                sin[(p * (rot / 2)) + j] = Math.Sin(a);
            }
        }
        var model = new OnnxModel().Opset(string.Empty, 23)
            .Input("x", DType.F32, 1, heads, n, d)
            .Initializer("cos", DType.F32, [positions, rot / 2], cos)
            .Initializer("sin", DType.F32, [positions, rot / 2], sin)
            .Input("pos", OnnxModel.Int64, 1, n)
            .Output("y", DType.F32, 1, heads, n, d)
            .Node("RotaryEmbedding", ["x", "cos", "sin", "pos"], ["y"], attributes: [("interleaved", 1L), ("rotary_embedding_dim", (long)rot)])
            .ToBytes();
        var ort = OrtRunner.Run(model, [new("x", DType.F32, [1, heads, n, d], x), OrtRunner.Input.Int64("pos", [1, n], Enumerable.Range(0, n).Select(i => (long)i).ToArray())], "y")["y"].Values;
        double worst = ours.Zip(ort, (a, b) => Math.Abs(a - b)).Max();
        TestContext.Out.WriteLine($"rope time axis vs ORT RotaryEmbedding: max abs difference {worst:0.00e+0}");
        Assert.That(worst, Is.LessThan(2e-6));
    }
}
