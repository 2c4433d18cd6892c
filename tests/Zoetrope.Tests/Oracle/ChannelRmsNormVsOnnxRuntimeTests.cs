using NUnit.Framework;
using Zoetrope.Attention.Norm;
using Zoetrope.Runtime;
using Zoetrope.Tests.Attention;

namespace Zoetrope.Tests.Oracle;

/// <summary>
/// channel_rms_norm's reference against ONNX Runtime: LpNormalization (p = 2 over the channel
/// axis of channel-last pixels), * sqrt(C), * gamma, + bias, then Sigmoid * x for the SiLU.
/// LpNormalization has no eps (x / ||x||), so the inputs are Gaussian pixels, none of them zero,
/// where F.normalize's max(||x||, 1e-12) is ||x||.
/// </summary>
public class ChannelRmsNormVsOnnxRuntimeTests
{
    [TestCase(2, 3, 5, 96, true, true)]
    [TestCase(1, 4, 3, 13, false, false)]
    [TestCase(1, 2, 2, 384, true, false)]
    [TestCase(2, 2, 3, 16, false, true)]
    public void ChannelRmsNormMatchesOrt(int t, int h, int w, int channels, bool silu, bool hasBias)
    {
        long rows = (long)t * h * w;
        long[] shape = [t, h, w, channels];
        var x = AttentionTestKit.Rounded(AttentionTestKit.Gaussian(rows * channels, channels + t, 2), DType.F32);
        var gamma = AttentionTestKit.Rounded(AttentionTestKit.Gaussian(channels, 7, 0.25).Select(v => v + 1).ToArray(), DType.F32);
        var bias = AttentionTestKit.Rounded(AttentionTestKit.Gaussian(channels, 8, 0.25), DType.F32);
        var inputs = new Dictionary<string, double[]> { ["x"] = x, ["gamma"] = gamma };
        if (hasBias)
        {
            inputs["bias"] = bias;
        }
        var ours = AttentionTestKit.Reference(ChannelRmsNorm.Info.Instantiate(new ChannelRmsNorm.Params(DType.F32, rows, channels, HasBias: hasBias, Silu: silu)), inputs)["y"];

        var m = new OnnxModel()
            .Input("x", DType.F32, shape)
            .Initializer("scale", DType.F32, [1], [Math.Sqrt(channels)])
            .Initializer("gamma", DType.F32, [channels], gamma)
            .Initializer("bias", DType.F32, [channels], hasBias ? bias : new double[channels])
            .Node("LpNormalization", ["x"], ["n"], attributes: [("axis", -1L), ("p", 2L)])
            .Node("Mul", ["n", "scale"], ["s"])
            .Node("Mul", ["s", "gamma"], ["g"])
            .Node("Add", ["g", "bias"], ["a"]);
        if (silu)
        {
            m.Node("Sigmoid", ["a"], ["sig"]).Node("Mul", ["a", "sig"], ["y"]);
        }
        else
        {
            m.Node("Identity", ["a"], ["y"]);
        }
        var ort = OrtRunner.Run(m.Output("y", DType.F32, shape).ToBytes(), [new("x", DType.F32, shape, x)], "y")["y"].Values;
        var (maxAbs, relL2) = AttentionTestKit.Errors(ours, ort);
        TestContext.Out.WriteLine($"channel_rms_norm [{t}, {h}, {w}, {channels}] silu={silu} bias={hasBias}: relL2 {relL2:0.00e+0}, max abs {maxAbs:0.00e+0} from ORT");
        Assert.That(relL2, Is.LessThan(1e-6));
    }
}
