using NUnit.Framework;
using Zoetrope.Quant.Conv;
using Zoetrope.Runtime;
using Zoetrope.Tests.Attention;

namespace Zoetrope.Tests.Oracle;

/// <summary>
/// conv3d's reference against ONNX Runtime's Conv (opset 21), NCDHW for Kt = 3 (one clip, time
/// padded causally: TimePad zero frames before, none after) and NCHW for Kt = 1 (the frames as
/// the batch). Our channel-last x [T, H, W, C] and weight [Cout, Kt, Kh, Kw, Cin] are permuted to
/// ONNX's layouts on the host; ORT's output is brought back to channel-last by its own
/// Transpose (and, for the time shuffle, Reshape). The nearest x2 upsampling is ORT's Resize
/// with PyTorch's 'nearest' (asymmetric coordinates, floor: input pixel = floor(out / 2));
/// residual is an Add and the activations Relu or Sigmoid * x, after the conv's bias.
/// </summary>
public class ConvVsOnnxRuntimeTests
{
    // f32 (ORT) against double (ours) on the same f32 inputs: the error is fp32 summation's.
    private const double Tolerance = 1e-5;

    [TestCase(3, 5, 6, 4, 6, 3, 3, 2, 1, false, ConvActivation.None, TestName = "Conv3dCausalMatchesOrt")]
    [TestCase(4, 4, 5, 3, 5, 3, 3, 0, 1, true, ConvActivation.Relu, TestName = "Conv3dCachedFramesResidualReluMatchesOrt")]
    [TestCase(2, 4, 3, 4, 8, 3, 1, 2, 2, false, ConvActivation.Relu, TestName = "Conv3dTimeShuffleReluMatchesOrt")]
    [TestCase(3, 3, 4, 5, 6, 3, 5, 2, 3, true, ConvActivation.Silu, TestName = "Conv3dTimeShuffleResidualSiluMatchesOrt")]
    public void Conv3dMatchesOrt(int t, int h, int w, int cin, int cout, int kt, int k, int timePad, int shuffle, bool residual, ConvActivation act) =>
        Compare(new Conv3d.Params(DType.F32, t, h, w, cin, cout, kt, k, k, timePad, TimeShuffle: shuffle, HasBias: true, HasResidual: residual, Act: act));

    [TestCase(2, 5, 4, 3, 4, 3, 1, false, ConvActivation.None, TestName = "Conv2dFramesAsBatchMatchesOrt")]
    [TestCase(3, 4, 4, 6, 5, 1, 1, true, ConvActivation.Relu, TestName = "Conv2dPointwiseResidualReluMatchesOrt")]
    [TestCase(2, 3, 4, 3, 4, 3, 2, false, ConvActivation.None, TestName = "Conv2dUpsampleMatchesOrtResizeThenConv")]
    [TestCase(2, 4, 3, 5, 3, 3, 2, true, ConvActivation.Silu, TestName = "Conv2dUpsampleResidualSiluMatchesOrt")]
    public void Conv2dMatchesOrt(int frames, int h, int w, int cin, int cout, int k, int upsample, bool residual, ConvActivation act) =>
        Compare(new Conv3d.Params(DType.F32, frames, h, w, cin, cout, 1, k, k, 0, Upsample: upsample, HasBias: true, HasResidual: residual, Act: act));

    private static void Compare(Conv3d.Params p)
    {
        int seed = p.T * 131 + p.Cin * 17 + p.Cout;
        var x = AttentionTestKit.Rounded(AttentionTestKit.Gaussian((long)p.T * p.H * p.W * p.Cin, seed), DType.F32);
        var weight = AttentionTestKit.Rounded(AttentionTestKit.Gaussian(p.Cout * p.K, seed + 1, 1 / Math.Sqrt(p.K)), DType.F32);
        var bias = AttentionTestKit.Rounded(AttentionTestKit.Gaussian(p.Cout, seed + 2, 0.5), DType.F32);
        var yShape = ConvShapes.OutShape(p);
        var residual = AttentionTestKit.Rounded(AttentionTestKit.Gaussian(yShape.ElementCount, seed + 3), DType.F32);
        var inputs = new Dictionary<string, double[]> { ["x"] = x, ["weight"] = weight, ["bias"] = bias };
        if (p.HasResidual)
        {
            inputs["residual"] = residual;
        }
        var ours = AttentionTestKit.Reference(Conv3d.Info.Instantiate(p), inputs)["y"];

        var ort = RunOrt(p, x, weight, bias, p.HasResidual ? residual : null);
        var (maxAbs, relL2) = AttentionTestKit.Errors(ours, ort);
        TestContext.Out.WriteLine($"conv3d {p.Label}: relL2 {relL2:0.00e+0}, max abs {maxAbs:0.00e+0} from ORT");
        Assert.That(ort, Has.Length.EqualTo(ours.Length));
        Assert.That(relL2, Is.LessThan(Tolerance));
    }

    // The ORT graph: [Resize] -> Conv (+ bias) -> channel-last (Transpose; Reshape first for a
    // time shuffle) -> [Add residual] -> [act]; the result's flat order is ours.
    private static double[] RunOrt(Conv3d.Params p, double[] x, double[] weight, double[] bias, double[]? residual)
    {
        bool is3d = p.Kt > 1;
        int s = p.TimeShuffle;
        long[] xShape = is3d ? [1, p.Cin, p.T, p.H, p.W] : [p.T, p.Cin, p.H, p.W];
        var xOnnx = Permute(x, [p.T, p.H, p.W, p.Cin], is3d ? [3, 0, 1, 2] : [0, 3, 1, 2]);
        long[] wShape = is3d ? [p.Cout, p.Cin, p.Kt, p.Kh, p.Kw] : [p.Cout, p.Cin, p.Kh, p.Kw];
        var wOnnx = Permute(weight, [p.Cout, p.Kt * p.Kh * p.Kw, p.Cin], [0, 2, 1]);
        long[] kernel = is3d ? [p.Kt, p.Kh, p.Kw] : [p.Kh, p.Kw];
        long[] pads = is3d
            ? [p.TimePad, p.Kh / 2, p.Kw / 2, 0, p.Kh / 2, p.Kw / 2]
            : [p.Kh / 2, p.Kw / 2, p.Kh / 2, p.Kw / 2];
        long[] convShape = is3d ? [1, p.Cout, p.To, p.Ho, p.Wo] : [p.T, p.Cout, p.Ho, p.Wo];

        var m = new OnnxModel()
            .Input("x", DType.F32, xShape)
            .Initializer("w", DType.F32, wShape, wOnnx)
            .Initializer("b", DType.F32, [p.Cout], bias);
        var feeds = new List<OrtRunner.Input> { new("x", DType.F32, xShape, xOnnx) };
        string convIn = "x";
        if (p.Upsample > 1)
        {
            // PyTorch's nn.Upsample(mode='nearest'): source index floor(out / scale).
            m.Initializer("scales", DType.F32, [4], [1, 1, p.Upsample, p.Upsample])
             .Node("Resize", ["x", string.Empty, "scales"], ["up"], attributes:
                 [("mode", "nearest"), ("coordinate_transformation_mode", "asymmetric"), ("nearest_mode", "floor")]);
            convIn = "up";
        }
        m.Node("Conv", [convIn, "w", "b"], ["conv"], attributes: [("kernel_shape", kernel), ("pads", pads)]);
        if (is3d)
        {
            // Channel j * Cout/S + c of frame t -> frame t * S + j, channel c.
            long[] split = [s, p.Cout / s, p.To, p.Ho, p.Wo];
            m.Input("split", OnnxModel.Int64, split.Length)
             .Node("Reshape", ["conv", "split"], ["grouped"])
             .Node("Transpose", ["grouped"], ["cl"], attributes: [("perm", new long[] { 2, 0, 3, 4, 1 })]);
            feeds.Add(OrtRunner.Input.Int64("split", [split.Length], split));
        }
        else
        {
            m.Node("Transpose", ["conv"], ["cl"], attributes: [("perm", new long[] { 0, 2, 3, 1 })]);
        }
        string last = "cl";
        long[] clShape = is3d ? [p.To, s, p.Ho, p.Wo, p.OutChannels] : [p.T, p.Ho, p.Wo, p.Cout];
        if (residual is not null)
        {
            m.Input("r", DType.F32, clShape).Node("Add", [last, "r"], ["sum"]);
            feeds.Add(new("r", DType.F32, clShape, residual));
            last = "sum";
        }
        switch (p.Act)
        {
            case ConvActivation.Relu:
                m.Node("Relu", [last], ["act"]);
                last = "act";
                break;
            case ConvActivation.Silu:
                m.Node("Sigmoid", [last], ["sig"]).Node("Mul", [last, "sig"], ["act"]);
                last = "act";
                break;
        }
        m.Node("Identity", [last], ["y"]).Output("y", DType.F32, clShape);
        return OrtRunner.Run(m.ToBytes(), feeds, "y")["y"].Values;
    }

    // src of shape `shape` with its axes reordered: output axis i is input axis perm[i].
    private static double[] Permute(double[] src, int[] shape, int[] perm)
    {
        int rank = shape.Length;
        var outShape = perm.Select(a => shape[a]).ToArray();
        var inStride = new long[rank];
        inStride[rank - 1] = 1;
        for (int a = rank - 2; a >= 0; a--)
        {
            inStride[a] = inStride[a + 1] * shape[a + 1];
        }
        var dst = new double[src.Length];
        var idx = new int[rank];
        for (long o = 0; o < dst.Length; o++)
        {
            long from = 0;
            for (int a = 0; a < rank; a++)
            {
                from += idx[a] * inStride[perm[a]];
            }
            dst[o] = src[from];
            for (int a = rank - 1; a >= 0 && ++idx[a] == outShape[a]; a--)
            {
                idx[a] = 0;
            }
        }
        return dst;
    }
}
