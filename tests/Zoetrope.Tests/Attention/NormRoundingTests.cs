using NUnit.Framework;
using Zoetrope.Attention.Norm;
using Zoetrope.Runtime;
using static Zoetrope.Tests.Attention.AttentionTestKit;

namespace Zoetrope.Tests.Attention;

/// <summary>
/// rounding=per-op of adaln_modulate, gated_residual, rms_norm and gated_residual_adaln: on bf16
/// data it changes the output (the attribute is wired through to the kernels), and the ilgpu-cpu
/// output is, bit for bit, the scalar sequence Self-Forcing/LongLive run (every eager PyTorch op
/// computing in fp32 and writing bf16), written out here element by element. The rows are built
/// so that their fp32 statistics are exact in any summation order (values k/8, rows of +a/-a pairs
/// for LayerNorm, so the mean is 0), which makes the kernel's mean and rstd the ones computed here.
/// </summary>
public class NormRoundingTests
{
    private const int B = 1, F = 2, T = 3, Dim = 64;
    private const float Eps = 1e-6f;

    private static float Bf(float v) => BFloat16.FromSingle(v).ToSingle();

    // Rows of (a, -a) pairs, a = k/8 with k in [-16, 16] \ {0}: sums and squares of these are exact in fp32.
    private static double[] PairRows(long rows, int dim, int seed)
    {
        var rng = new Random(seed);
        var x = new double[rows * dim];
        for (long i = 0; i < x.Length; i += 2)
        {
            int k = rng.Next(1, 17) * (rng.Next(2) == 0 ? -1 : 1);
            x[i] = k / 8.0;
            x[i + 1] = -k / 8.0;
        }
        return x;
    }

    private static Dictionary<string, double[]> ModulationInputs(int seed) => new()
    {
        ["x"] = PairRows((long)B * F * T, Dim, seed),
        ["y"] = Rounded(Gaussian((long)B * F * T * Dim, seed + 1), DType.BF16),
        ["modulation"] = Gaussian((long)B * F * 6 * Dim, seed + 2, std: 0.5),
        ["block_modulation"] = Gaussian(6L * Dim, seed + 3, std: 0.1),
    };

    // e0 + block for vector `index` of token row r, column c: one fp32 add, rounded to bf16 (mod + e0 in bf16).
    private static float Vector(Dictionary<string, double[]> inputs, long r, int c, int index)
    {
        long f = r / T;
        return Bf((float)inputs["modulation"][((f * 6) + index) * Dim + c] + (float)inputs["block_modulation"][(index * Dim) + c]);
    }

    // The rstd the engine computes for a row whose mean is 0 and whose sum of squares is exact.
    private static float Rstd(double[] x, long r, int dim)
    {
        double ss = 0;
        for (int c = 0; c < dim; c++)
        {
            ss += x[(r * dim) + c] * x[(r * dim) + c];
        }
        return 1f / MathF.Sqrt(((float)ss / dim) + Eps);
    }

    private static int Differences(double[] a, double[] b) => a.Zip(b).Count(p => p.First != p.Second);

    // The scalar sequences run on ilgpu-cpu and on the emulated CUDA device (the .cu kernels), where
    // a kernel that ignored the flag would pass the harness's bf16 tolerance but not these.
    [TestCase(0, BackendKind.IlgpuCpu)]
    [TestCase(1, BackendKind.IlgpuCpu)]
    [TestCase(0, BackendKind.CudaEmu)]
    [TestCase(1, BackendKind.CudaEmu)]
    public void AdaLnModulatePerOpIsPyTorchsBf16SequenceAndDiffersFromFused(int chunk, BackendKind kind)
    {
        var backend = BackendsOrIgnore.Get(kind);
        var inputs = ModulationInputs(11);
        var perOp = Run(AdaLnModulate.Info.Instantiate(new AdaLnModulate.Params(DType.BF16, B, F, T, Dim, chunk, Eps, Rounding.PerOp)), backend, inputs)["y"];
        var fused = Run(AdaLnModulate.Info.Instantiate(new AdaLnModulate.Params(DType.BF16, B, F, T, Dim, chunk, Eps)), backend, inputs)["y"];

        var x = inputs["x"];
        for (long r = 0; r < B * F * T; r++)
        {
            float rstd = Rstd(x, r, Dim);
            for (int c = 0; c < Dim; c++)
            {
                // (norm1(x) * (1 + e[1]) + e[0]): five bf16 roundings after the vectors'.
                float n = Bf((float)x[(r * Dim) + c] * rstd);
                float s = Bf(1f + Vector(inputs, r, c, (3 * chunk) + 1));
                float p = Bf(n * s);
                float y = Bf(p + Vector(inputs, r, c, 3 * chunk));
                Assert.That(perOp[(r * Dim) + c], Is.EqualTo(y), $"row {r} col {c}");
            }
        }
        int differ = Differences(perOp, fused);
        Assert.That(differ, Is.GreaterThan(perOp.Length / 10), "per-op rounds 1 + scale and the product: many bf16 results move");
        TestContext.Out.WriteLine($"adaln_modulate chunk {chunk}: per-op differs from fused in {differ} of {perOp.Length} elements");
    }

    [TestCase(BackendKind.IlgpuCpu)]
    [TestCase(BackendKind.CudaEmu)]
    public void GatedResidualPerOpIsPyTorchsBf16SequenceOnTheKernelsAndTheOracleAndDiffersFromFused(BackendKind kind)
    {
        var backend = BackendsOrIgnore.Get(kind);
        var inputs = ModulationInputs(21);
        inputs["x"] = Rounded(Gaussian((long)B * F * T * Dim, 24, std: 2), DType.BF16);
        var op = GatedResidual.Info.Instantiate(new GatedResidual.Params(DType.BF16, B, F, T, Dim, 1, Rounding.PerOp));
        var perOp = Run(op, backend, inputs)["out"];
        var fused = Run(GatedResidual.Info.Instantiate(new GatedResidual.Params(DType.BF16, B, F, T, Dim, 1)), backend, inputs)["out"];

        var expected = new double[perOp.Length];
        for (long i = 0; i < expected.Length; i++)
        {
            // x + y * e[5]: the gate, the product and the sum each rounded to bf16.
            float g = Vector(inputs, i / Dim, (int)(i % Dim), 5);
            expected[i] = Bf((float)inputs["x"][i] + Bf((float)inputs["y"][i] * g));
        }
        Assert.That(perOp, Is.EqualTo(expected), kind.Label());
        Assert.That(Reference(op, inputs)["out"], Is.EqualTo(expected), "reference: no statistics, so the same roundings of the same exact values");
        Assert.That(Differences(perOp, fused), Is.GreaterThan(0), "per-op rounds the gate and the product");
    }

    [TestCase(BackendKind.IlgpuCpu)]
    [TestCase(BackendKind.CudaEmu)]
    public void RmsNormPerOpIsWanRmsNormsBf16SequenceAndDiffersFromFused(BackendKind kind)
    {
        var backend = BackendsOrIgnore.Get(kind);
        const long rows = 5;
        const int dim = 100;
        var rng = new Random(31);
        var inputs = new Dictionary<string, double[]>
        {
            ["x"] = Enumerable.Range(0, (int)(rows * dim)).Select(_ => rng.Next(-16, 17) / 8.0).ToArray(),
            ["weight"] = Rounded(Gaussian(dim, 32, std: 0.25).Select(v => v + 1).ToArray(), DType.BF16),
        };
        var perOp = Run(RmsNorm.Info.Instantiate(new RmsNorm.Params(DType.BF16, rows, dim, Eps, Rounding.PerOp)), backend, inputs)["y"];
        var fused = Run(RmsNorm.Info.Instantiate(new RmsNorm.Params(DType.BF16, rows, dim, Eps)), backend, inputs)["y"];

        for (long r = 0; r < rows; r++)
        {
            float rstd = Rstd(inputs["x"], r, dim);
            for (int c = 0; c < dim; c++)
            {
                // self._norm(x.float()).type_as(x) * self.weight
                float y = Bf(Bf((float)inputs["x"][(r * dim) + c] * rstd) * (float)inputs["weight"][c]);
                Assert.That(perOp[(r * dim) + c], Is.EqualTo(y), $"row {r} col {c}");
            }
        }
        Assert.That(Differences(perOp, fused), Is.GreaterThan(0), "per-op rounds x * rstd before the weight");
    }

    [Test]
    public void GatedResidualAdaLnPerOpIsGatedResidualThenAdaLnModulatePerOp()
    {
        var inputs = ModulationInputs(41);
        inputs["x"] = Rounded(Gaussian((long)B * F * T * Dim, 44, std: 2), DType.BF16);
        inputs["gate_modulation"] = inputs["block_modulation"];
        inputs["norm_modulation"] = Gaussian(6L * Dim, 45, std: 0.1);
        var fusedOp = GatedResidualAdaLn.Info.Instantiate(new GatedResidualAdaLn.Params(DType.BF16, B, F, T, Dim, 1, 0, Eps, Rounding.PerOp));
        var both = Run(fusedOp, Cpu, inputs);

        var residual = Run(GatedResidual.Info.Instantiate(new GatedResidual.Params(DType.BF16, B, F, T, Dim, 1, Rounding.PerOp)), Cpu, inputs)["out"];
        var adaLnInputs = new Dictionary<string, double[]>
        {
            ["x"] = residual, ["modulation"] = inputs["modulation"], ["block_modulation"] = inputs["norm_modulation"],
        };
        var h = Run(AdaLnModulate.Info.Instantiate(new AdaLnModulate.Params(DType.BF16, B, F, T, Dim, 0, Eps, Rounding.PerOp)), Cpu, adaLnInputs)["y"];
        Assert.That(both["x_out"], Is.EqualTo(residual), "x_out: gated_residual per-op");
        Assert.That(both["h"], Is.EqualTo(h), "h: adaln_modulate per-op of the stored x_out (statistics of the rounded residual)");
    }

    [Test]
    public void PerOpReferenceAgreesWithTheKernelWhereTheStatisticsAllow()
    {
        // The double oracle's LayerNorm statistics differ from the kernel's fp32 ones in the last
        // fp32 bits, which can move n = R(LN(x)) by one bf16 ulp where LN(x) sits near a rounding
        // boundary. Then |dp| <= |s| ulp(n) + ulp(p) <= 3 ulp(p) (ulp(n) <= 2^-7 |n|, ulp(p) >= 2^-8 |p|)
        // and |dy| <= |dp| + ulp(y): at most 4 ulps of max(|p|, |y|); everywhere else bit for bit.
        var inputs = ModulationInputs(51);
        inputs["x"] = Gaussian((long)B * F * T * Dim, 52, std: 1.5);
        var op = AdaLnModulate.Info.Instantiate(new AdaLnModulate.Params(DType.BF16, B, F, T, Dim, 0, Eps, Rounding.PerOp));
        var kernel = Run(op, Cpu, inputs)["y"];
        var oracle = Reference(op, inputs)["y"];
        int exact = 0;
        for (int i = 0; i < kernel.Length; i++)
        {
            if (kernel[i] == oracle[i])
            {
                exact++;
                continue;
            }
            double p = oracle[i] - Vector(inputs, i / Dim, i % Dim, 0);
            double ulp = Math.Pow(2, Math.Floor(Math.Log2(Math.Max(Math.Abs(p), Math.Abs(oracle[i])))) - 7);
            Assert.That(Math.Abs(kernel[i] - oracle[i]), Is.LessThanOrEqualTo(4 * ulp), $"element {i}: kernel {kernel[i]}, oracle {oracle[i]}");
        }
        Assert.That(exact, Is.GreaterThan(kernel.Length * 9 / 10), "most elements round identically");
        TestContext.Out.WriteLine($"adaln_modulate per-op: {exact} of {kernel.Length} elements equal the oracle bit for bit");
    }
}
