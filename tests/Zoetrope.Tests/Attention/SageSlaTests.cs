using ILGPU;
using ILGPU.Runtime;
using NUnit.Framework;
using Zoetrope.Attention;
using Zoetrope.Attention.Flash;
using Zoetrope.Attention.Rope;
using Zoetrope.Attention.Sparse;
using Zoetrope.Runtime;
using static Zoetrope.Tests.Attention.AttentionTestKit;
using SageQuantizeOp = Zoetrope.Attention.Flash.SageQuantize;

namespace Zoetrope.Tests.Attention;

/// <summary>
/// SageSLA (sla precision=sage) and sage_quantize beyond the harness: with W = 0 and no bias, sla
/// precision=sage is block_sparse_attention precision=sage over sage_quantize's outputs bit for bit;
/// sage_quantize is qk_norm_rope_int8's quantization stage for the same f32 rows; bad input is refused
/// by name before any work.
/// </summary>
public class SageSlaTests
{
    private static Dictionary<string, double[]> Qkv(AttentionGeometry g, int seed) => new()
    {
        ["q"] = Gaussian(g.Q.ElementCount, seed),
        ["k"] = Gaussian(g.Kv.ElementCount, seed + 1, std: 2),
        ["v"] = Gaussian(g.Kv.ElementCount, seed + 2),
    };

    // Every query block keeps key blocks 0 and 2 (of 3): a LUT with a gap.
    private static Dictionary<string, double[]> Lut(AttentionGeometry g, SparseBlocks blocks)
    {
        int rows = checked((int)blocks.CountShape(g).ElementCount), kBlocks = blocks.KBlocks(g);
        var lut = new double[rows * kBlocks];
        Array.Fill(lut, -1);
        for (int r = 0; r < rows; r++)
        {
            lut[r * kBlocks] = 0;
            lut[(r * kBlocks) + 1] = 2;
        }
        return new() { ["lut"] = lut, ["counts"] = Enumerable.Repeat(2.0, rows).ToArray() };
    }

    [TestCase(SagePv.Fp16, SlaVariant.AllKeys, HeadLayout.Hnd)]
    [TestCase(SagePv.Fp8, SlaVariant.Complement, HeadLayout.Nhd)]
    public void SageSlaWithZeroProjectionIsBlockSparseSageOverSageQuantizeExactly(SagePv pv, SlaVariant variant, HeadLayout layout)
    {
        var g = new AttentionGeometry(1, 2, 1, 64, 192, 64, layout, AttentionMask.None);
        var blocks = new SparseBlocks(64, 64);
        var qkv = Qkv(g, 31);
        var lut = Lut(g, blocks);
        var p = new Sla.Params(DType.F16, g, blocks, FeatureMap.Elu1, variant, Bias: false, Precision: SlaPrecision.Sage, Pv: pv);
        var sla = Sla.Info.Instantiate(p);
        var inputs = new Dictionary<string, double[]>(qkv) { ["proj"] = new double[64 * 64] };
        foreach (var (name, values) in lut)
        {
            inputs[name] = values;
        }
        var o = Run(sla, Cpu, inputs)["o"];

        var qq = Run(SageQuantizeOp.Info.Instantiate(p.QuantQ), Cpu, new Dictionary<string, double[]> { ["x"] = qkv["q"] });
        var kq = Run(SageQuantizeOp.Info.Instantiate(p.QuantK), Cpu, new Dictionary<string, double[]> { ["x"] = qkv["k"] });
        var sparse = BlockSparseAttention.Info.Instantiate(p.Sparse);
        Assert.That(p.Sparse.Precision, Is.EqualTo(pv == SagePv.Fp8 ? SparsePrecision.SageFp8 : SparsePrecision.SageFp16));
        var sparseInputs = new Dictionary<string, double[]>
        {
            ["q"] = qq["q"], ["q_scale"] = qq["scale"], ["k"] = kq["q"], ["k_scale"] = kq["scale"], ["v"] = qkv["v"], ["lut"] = lut["lut"], ["counts"] = lut["counts"],
        };
        var expected = Run(sparse, Cpu, sparseInputs)["o"];
        Assert.That(o, Is.EqualTo(expected), "ilgpu-cpu: the same codes, scales and Sage kernel, residual 0");
        Assert.That(o.Any(x => x != 0), Is.True, "a non-trivial output");
        Assert.That(Reference(sla, inputs)["o"], Is.EqualTo(Reference(sparse, sparseInputs)["o"]), "reference: the same Sage emulation over the same codes");
    }

    [TestCase(false, 128)]
    [TestCase(false, 32)]
    [TestCase(true, 64)]
    public void SageQuantizeIsQkNormRopeInt8sQuantizationStage(bool smooth, int rows)
    {
        // The f32 rows qk_norm_rope_int8 would have left in its workspace: f16 values, [B, H, N, D].
        const int b = 1, h = 2, n = 600, d = 64;
        var rowsF16 = Rounded(Gaussian((long)b * h * n * d, 41, std: 1.5).Select(x => x + 0.3).ToArray(), DType.F16);
        var p = new SageQuantizeOp.Params(DType.F16, b, h, n, d, HeadLayout.Hnd, smooth, rows);
        var mine = Run(SageQuantizeOp.Info.Instantiate(p), Cpu, new Dictionary<string, double[]> { ["x"] = rowsF16 });

        var backend = (IlgpuBackend)Cpu;
        int chunks = (n + QkNormRopeInt8.MeanRows - 1) / QkNormRopeInt8.MeanRows;
        using var host = Tensor.FromDoubles(rowsF16, DType.F32, new Shape(rowsF16.Length), "workspace");
        using var ws = host.To(backend);
        using var part = backend.Allocate(DType.F64, new Shape((long)b * h * chunks * d), "part");
        using var mean = backend.Allocate(DType.F32, new Shape((long)b * h * d), "mean");
        using var q = backend.Allocate(DType.I8, new Shape(rowsF16.Length), "q");
        using var scale = backend.Allocate(DType.F32, new Shape((long)b * h * p.Blocks), "scale");
        if (smooth)
        {
            var partial = backend.Kernel(QkNormRopeInt8.PartialKernel, acc =>
                acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<double>, ArrayView<float>, int, int, int, int, int, int>(QkNormRopeInt8.PartialKernel));
            partial(b * h * chunks * d, backend.View<float>(ws), backend.View<double>(part), backend.View<float>(mean), n, h, d, chunks, 0, 0);
            var total = backend.Kernel(QkNormRopeInt8.MeanKernel, acc => acc.LoadStreamKernel<ArrayView<double>, ArrayView<float>, int, int, int>(QkNormRopeInt8.MeanKernel));
            total(new KernelConfig(b * h * ((d + 31) / 32), 32 * QkNormRopeInt8.MeanSlices), backend.View<double>(part), backend.View<float>(mean), n, d, chunks);
        }
        var quant = backend.Kernel(QkNormRopeInt8.QuantKernel, acc =>
            acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<sbyte>, ArrayView<float>, int, int, int, int, int, int, float, int>(QkNormRopeInt8.QuantKernel));
        quant(new KernelConfig(b * h * p.Blocks, 32), backend.View<float>(ws), backend.View<float>(mean), backend.View<sbyte>(q), backend.View<float>(scale),
            n, h, d, rows, p.Blocks, smooth ? 1 : 0, p.QScale, 0);
        backend.Synchronize();

        Assert.That(mine["q"], Is.EqualTo(q.ToDoubles()), "codes");
        Assert.That(mine["scale"], Is.EqualTo(scale.ToDoubles()), "scales");
        if (smooth)
        {
            Assert.That(mine["mean"], Is.EqualTo(mean.ToDoubles()), "mean: the same chunks and order");
        }
        Assert.That(mine["q"].Count(x => Math.Abs(x) == 127), Is.GreaterThan(0), "each block's extreme maps to 127");
        // And sage_quantize's oracle is the same arithmetic, not a double-precision ideal.
        var reference = Reference(SageQuantizeOp.Info.Instantiate(p), new Dictionary<string, double[]> { ["x"] = rowsF16 });
        Assert.That(reference["q"], Is.EqualTo(mine["q"]), "oracle codes");
        Assert.That(reference["scale"], Is.EqualTo(mine["scale"]), "oracle scales");
    }

    [Test]
    public void BadInputIsRefusedByName()
    {
        var g = new AttentionGeometry(1, 1, 1, 128, 128, 64, HeadLayout.Hnd, AttentionMask.None);
        var e = Assert.Throws<ArgumentException>(() => _ = Sla.Info.Instantiate(new Sla.Params(DType.F32, g, SparseBlocks.Default, Precision: SlaPrecision.Sage)).Signature);
        Assert.That(e!.Message, Does.Contain("precision=sage").And.Contain("f32").And.Contain("f16 or bf16"));
        var wide = g with { HeadDim = 256 };
        e = Assert.Throws<ArgumentException>(() => _ = Sla.Info.Instantiate(new Sla.Params(DType.BF16, wide, SparseBlocks.Default, Precision: SlaPrecision.Sage)).Signature);
        Assert.That(e!.Message, Does.Contain("head dim 256"));
        e = Assert.Throws<ArgumentException>(() => _ = SageQuantizeOp.Info.Instantiate(new SageQuantizeOp.Params(DType.I8, 1, 1, 10, 64, HeadLayout.Hnd, false, 128)).Signature);
        Assert.That(e!.Message, Does.Contain("x is i8"));
        e = Assert.Throws<ArgumentException>(() => _ = SageQuantizeOp.Info.Instantiate(new SageQuantizeOp.Params(DType.F16, 1, 1, 10, 64, HeadLayout.Hnd, true, 48)).Signature);
        Assert.That(e!.Message, Does.Contain("48 tokens per scale"));
    }
}
