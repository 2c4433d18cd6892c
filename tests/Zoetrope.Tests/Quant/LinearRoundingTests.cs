using NUnit.Framework;
using Zoetrope.Quant;
using Zoetrope.Quant.Gemm;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Execution;
using Zoetrope.Runtime.KernelMath;

namespace Zoetrope.Tests.Quant;

/// <summary>
/// linear's rounding=per-op and bias_add=separate: the roundings of an eager bf16 model (nn.Linear
/// then nn.GELU; a convolution then its bias add_) on top of the fused epilogue. x and W are
/// small multiples of 1/4, so every fp32 sum over K is exact whatever its order, and an output
/// element is a short scalar sequence written out here: the kernel's must be it, bit for bit.
/// </summary>
public class LinearRoundingTests
{
    private const int M = 8, N = 16, K = 32;

    private static readonly Backend Cpu = Zoetrope.Runtime.Backends.Get(BackendKind.IlgpuCpu);

    private static readonly (Rounding Rounding, bool Separate)[] Modes =
    [
        (Rounding.Fused, false),
        (Rounding.PerOp, false),
        (Rounding.Fused, true),
        (Rounding.PerOp, true),
    ];

    // x [M, K], W [N, K]: integers in [-8, 8] over 4 (exact in bf16, |acc| <= 2048 in steps of
    // 1/16: exact in fp32, mostly not in bf16); bias [N]: fp32 values no bf16 holds.
    private static (double[] X, double[] W, double[] Bias) Data()
    {
        var rng = new Random(20);
        double[] Quarters(int count) => Enumerable.Range(0, count).Select(_ => rng.Next(-8, 9) / 4.0).ToArray();
        var x = Quarters(M * K);
        var w = Quarters(N * K);
        var b = Enumerable.Range(0, N).Select(_ => (double)(float)((rng.NextDouble() * 6) - 3)).ToArray();
        return (x, w, b);
    }

    private static double Acc(double[] x, double[] w, int m, int n)
    {
        double acc = 0;
        for (int k = 0; k < K; k++)
        {
            acc += x[(m * K) + k] * w[(n * K) + k];
        }
        return acc;
    }

    private static float Bf16(float v) => BFloat16.FromSingle(v).ToSingle();

    // The sequence an eager bf16 PyTorch model runs, in fp32 with the roundings written out.
    private static float Scalar(double acc, double bias, Rounding rounding, bool separate)
    {
        float a = (float)acc;
        float v = separate ? Bf16(a) + (float)bias : a + (float)bias;
        if (rounding == Rounding.PerOp)
        {
            v = Bf16(v);
        }
        return Bf16(Activations.GeluTanh(v));
    }

    // The same in double, each inner R from double: what the oracle computes (ReferenceRunner
    // hands back its doubles, before the output's own rounding).
    private static double ScalarDouble(double acc, double bias, Rounding rounding, bool separate)
    {
        static double R(double v) => BFloat16.FromDouble(v).ToSingle();
        double v = separate ? R(acc) + bias : acc + bias;
        if (rounding == Rounding.PerOp)
        {
            v = R(v);
        }
        return Activations.GeluTanh(v);
    }

    private static double[] RunIlgpu(DType dtype, (double[] X, double[] W, double[] Bias) d, Rounding rounding, bool separate) => Run(Cpu, dtype, d, rounding, separate);

    private static double[] Run(Backend backend, DType dtype, (double[] X, double[] W, double[] Bias) d, Rounding rounding, bool separate)
    {
        using var x = Tensor.FromDoubles(d.X, dtype, new Shape(M, K), "x").To(backend);
        using var w = Tensor.FromDoubles(d.W, dtype, new Shape(N, K), "w").To(backend);
        using var b = Tensor.FromDoubles(d.Bias, DType.F32, new Shape(N), "b").To(backend);
        using var y = backend.Allocate(dtype, new Shape(M, N), "y");
        Linear.Run(x, w, b, y, gelu: true, rounding, separate);
        return y.ToDoubles();
    }

    private static double[] RunReference(DType dtype, (double[] X, double[] W, double[] Bias) d, Rounding rounding, bool separate)
    {
        using var x = Tensor.FromDoubles(d.X, dtype, new Shape(M, K), "x");
        using var w = Tensor.FromDoubles(d.W, dtype, new Shape(N, K), "w");
        using var b = Tensor.FromDoubles(d.Bias, DType.F32, new Shape(N), "b");
        var p = new Linear.Params(dtype, M, N, K, true, true, rounding, separate);
        return ReferenceRunner.Run(Linear.Info.Instantiate(p), new Dictionary<string, Tensor> { ["x"] = x, ["weight"] = w, ["bias"] = b })["y"];
    }

    // cuda-emu: the tensor-core GEMM (K = 32 halves: cp.async rows; N = 16: the four-column epilogue).
    [TestCase(BackendKind.IlgpuCpu)]
    [TestCase(BackendKind.CudaEmu)]
    public void OutputsAreTheScalarSequenceBitForBit(BackendKind kind)
    {
        var backend = BackendsOrIgnore.Get(kind);
        var d = Data();
        foreach (var (rounding, separate) in Modes)
        {
            var y = Run(backend, DType.BF16, d, rounding, separate);
            for (int m = 0; m < M; m++)
            {
                for (int n = 0; n < N; n++)
                {
                    float expected = Scalar(Acc(d.X, d.W, m, n), d.Bias[n], rounding, separate);
                    Assert.That(BitConverter.SingleToInt32Bits((float)y[(m * N) + n]), Is.EqualTo(BitConverter.SingleToInt32Bits(expected)),
                        $"rounding={rounding} separate={separate} y[{m}, {n}]");
                }
            }
        }
    }

    [Test]
    public void ReferenceOutputsAreTheDoubleScalarSequence()
    {
        var d = Data();
        foreach (var (rounding, separate) in Modes)
        {
            var y = RunReference(DType.BF16, d, rounding, separate);
            var expected = Enumerable.Range(0, M * N).Select(i => ScalarDouble(Acc(d.X, d.W, i / N, i % N), d.Bias[i % N], rounding, separate));
            Assert.That(y, Is.EqualTo(expected), $"rounding={rounding} separate={separate}");
        }
    }

    [Test]
    public void EachExtraRoundingChangesSomeBf16Outputs()
    {
        // The data must exercise the attributes: per-op, separate and both each differ from fused
        // (and from each other) somewhere, on the kernel as on the hand-written sequence.
        var d = Data();
        var outputs = Modes.Select(mode => RunIlgpu(DType.BF16, d, mode.Rounding, mode.Separate)).ToArray();
        for (int i = 0; i < Modes.Length; i++)
        {
            for (int j = i + 1; j < Modes.Length; j++)
            {
                int differ = outputs[i].Zip(outputs[j]).Count(p => p.First != p.Second);
                Assert.That(differ, Is.GreaterThan(0), $"{Modes[i]} vs {Modes[j]}");
            }
        }
    }

    [Test]
    public void F32OutputsIgnoreTheRoundingsBitForBit()
    {
        // R is the identity for f32: per-op and separate are the fused epilogue.
        var d = Data();
        var fused = RunIlgpu(DType.F32, d, Rounding.Fused, false);
        foreach (var (rounding, separate) in Modes.Skip(1))
        {
            Assert.That(RunIlgpu(DType.F32, d, rounding, separate), Is.EqualTo(fused), $"rounding={rounding} separate={separate}");
        }
    }

    [Test]
    public void WithoutGeluPerOpIsFusedAndWithoutBiasSeparateIsFused()
    {
        var p = new Linear.Params(DType.BF16, M, N, K, HasBias: true, Gelu: false, Rounding.PerOp);
        Assert.That(p.RoundingFlags, Is.EqualTo(0));
        p = new Linear.Params(DType.BF16, M, N, K, HasBias: false, Gelu: true, Rounding.Fused, SeparateBias: true);
        Assert.That(p.RoundingFlags, Is.EqualTo(0));
        p = new Linear.Params(DType.BF16, M, N, K, HasBias: true, Gelu: true, Rounding.PerOp, SeparateBias: true);
        Assert.That(p.RoundingFlags, Is.EqualTo(LinearShapes.RoundBeforeBias | LinearShapes.RoundBeforeGelu));
    }

    [TestCase(LinearPath.Bf16)]
    [TestCase(LinearPath.Int8)]
    [TestCase(LinearPath.Int8Block128)]
    [TestCase(LinearPath.Fp8)]
    public void QuantizedLinearRoundsAtTheBoundariesOfTheOpsItStandsFor(LinearPath path)
    {
        // Per-op is the layer without GELU, then a GELU on its bf16 output; separate is the layer
        // without bias, then the bias added to its bf16 output: the eager model's ops, one by one.
        var d = Data();
        using var w = Tensor.FromDoubles(d.W, DType.F32, new Shape(N, K), "w");
        using var b = Tensor.FromDoubles(d.Bias, DType.F32, new Shape(N), "b");
        using var biased = QuantizedLinear.Create(Cpu, w, b, path);
        using var unbiased = QuantizedLinear.Create(Cpu, w, null, path);
        using var x = Tensor.FromDoubles(d.X, DType.BF16, new Shape(M, K), "x").To(Cpu);
        using var y = Cpu.Allocate(DType.BF16, new Shape(M, N), "y");
        double[] Forward(QuantizedLinear layer, bool gelu, Rounding rounding = Rounding.Fused, bool separate = false)
        {
            layer.Forward(x, y, gelu, rounding, separate);
            return y.ToDoubles();
        }
        var linear = Forward(biased, false);
        var matmul = Forward(unbiased, false);
        var fused = Forward(biased, true);
        var perOp = Forward(biased, true, Rounding.PerOp);
        var separate = Forward(biased, false, Rounding.Fused, true);
        var both = Forward(biased, true, Rounding.PerOp, true);
        for (int i = 0; i < M * N; i++)
        {
            float added = (float)matmul[i] + (float)d.Bias[i % N];
            Assert.That(perOp[i], Is.EqualTo(Bf16(Activations.GeluTanh((float)linear[i]))), $"per-op y[{i}]");
            Assert.That(separate[i], Is.EqualTo(Bf16(added)), $"separate y[{i}]");
            Assert.That(both[i], Is.EqualTo(Bf16(Activations.GeluTanh(Bf16(added)))), $"both y[{i}]");
        }
        Assert.That(perOp.Zip(fused).Count(p => p.First != p.Second), Is.GreaterThan(0), "per-op differs from fused somewhere");
    }
}
