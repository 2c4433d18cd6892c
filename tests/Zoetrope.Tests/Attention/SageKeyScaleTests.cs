using NUnit.Framework;
using Zoetrope.Attention;
using Zoetrope.Attention.Flash;
using Zoetrope.Attention.Sparse;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;
using static Zoetrope.Tests.Attention.AttentionTestKit;

namespace Zoetrope.Tests.Attention;

/// <summary>
/// Issue 18, Sage in the engine: k_rows=1, a K scale per key token (the streaming KV cache keeps K
/// int8 one latent frame per slot, and a frame is not a multiple of 64 keys). With every key's
/// scale equal to its 64-key block's, k_rows=1 must give the k_rows=64 result bit for bit (the
/// kernels form the same fp32 factor q_scale * k_scale per column as per tile): on the reference,
/// on ilgpu-cpu and on the emulated CUDA device, dense and block-sparse, both layouts (nhd: the
/// scales strided by Hkv), Nkv not a multiple of 64. A k_scale of the wrong shape is refused by
/// name before any work, through the public helpers and through the op's binding.
/// </summary>
[NonParallelizable]
public class SageKeyScaleTests
{
    private const int B = 1, H = 2, Hkv = 1, Nq = 40, Nkv = 100, D = 64, QRows = 32;

    private static AttentionGeometry Geometry(HeadLayout layout, AttentionMask mask) => new(B, H, Hkv, Nq, Nkv, D, layout, mask);

    // Random int8 q/k, Q scales per 32 rows, K scales per 64-key block and the same expanded to every
    // key (k_rows=1 layout: k's without D), v in f16.
    private sealed record Inputs(double[] Q, double[] QScale, double[] K, double[] BlockScale, double[] KeyScale, double[] V);

    private static Inputs Make(AttentionGeometry g, int seed)
    {
        var rng = new Random(seed);
        double[] Ints(long n) => Enumerable.Range(0, checked((int)n)).Select(_ => (double)rng.Next(-127, 128)).ToArray();
        double[] Scales(long n) => Enumerable.Range(0, checked((int)n)).Select(_ => 6e-3 + (8e-3 * rng.NextDouble())).ToArray();
        var blocked = new SageAttention.Params(DType.F16, g, QRows, SagePv.Fp16);
        var perKey = blocked with { KRows = 1 };
        var kb = Scales(blocked.KScaleShape.ElementCount);
        var kt = new double[perKey.KScaleShape.ElementCount];
        for (int b = 0; b < g.Batch; b++)
        {
            for (int hkv = 0; hkv < g.KvHeads; hkv++)
            {
                for (long j = 0; j < g.KvLen; j++)
                {
                    kt[perKey.KScaleAt(b, hkv, j)] = kb[blocked.KScaleAt(b, hkv, j)];
                }
            }
        }
        return new(Ints(g.Q.ElementCount), Scales(blocked.QScaleShape.ElementCount), Ints(g.Kv.ElementCount), kb, kt,
            Rounded(Gaussian(g.Kv.ElementCount, seed + 1), DType.F16));
    }

    private static Backend Get(BackendKind kind)
    {
        var probe = Backends.Probe(kind);
        if (!probe.Available)
        {
            Assert.Ignore($"{kind} is not available here: {probe.Reason}");
        }
        return Backends.Get(kind);
    }

    // sage_attention through the public helper: o and the LSE.
    private static (double[] O, double[] Lse) RunSage(Backend backend, AttentionGeometry g, Inputs x, int kRows, SagePv pv)
    {
        var p = new SageAttention.Params(DType.F16, g, QRows, pv, Lse: true, KRows: kRows);
        using var q = Tensor.FromDoubles(x.Q, DType.I8, g.Q, "q").To(backend);
        using var qs = Tensor.FromDoubles(x.QScale, DType.F32, p.QScaleShape, "q_scale").To(backend);
        using var k = Tensor.FromDoubles(x.K, DType.I8, g.Kv, "k").To(backend);
        using var ks = Tensor.FromDoubles(kRows == 1 ? x.KeyScale : x.BlockScale, DType.F32, p.KScaleShape, "k_scale").To(backend);
        using var v = Tensor.FromDoubles(x.V, DType.F16, g.Kv, "v").To(backend);
        using var o = backend.Allocate(DType.F16, g.Q, "o");
        using var lse = backend.Allocate(DType.F32, g.Lse, "lse");
        SageAttention.Run(q, qs, k, ks, v, o, g.Layout, g.Mask, QRows, kRows, pv, lse: lse);
        backend.Synchronize();
        return (o.ToDoubles(), lse.ToDoubles());
    }

    private static Dictionary<string, double[]> HostInputs(Inputs x, int kRows) => new()
    {
        ["q"] = x.Q, ["q_scale"] = x.QScale, ["k"] = x.K, ["k_scale"] = kRows == 1 ? x.KeyScale : x.BlockScale, ["v"] = x.V,
    };

    [TestCase(HeadLayout.Hnd, SagePv.Fp16)]
    [TestCase(HeadLayout.Nhd, SagePv.Fp8)]
    public void PerKeyScalesEqualToTheBlocksGiveTheBlockResultOnTheReference(HeadLayout layout, SagePv pv)
    {
        var g = Geometry(layout, AttentionMask.Causal);
        var x = Make(g, 7);
        var blocked = Reference(SageAttention.Info.Instantiate(new SageAttention.Params(DType.F16, g, QRows, pv, Lse: true)), HostInputs(x, 64));
        var perKey = Reference(SageAttention.Info.Instantiate(new SageAttention.Params(DType.F16, g, QRows, pv, Lse: true, KRows: 1)), HostInputs(x, 1));
        Assert.That(perKey["o"], Is.EqualTo(blocked["o"]));
        Assert.That(perKey["lse"], Is.EqualTo(blocked["lse"]));
    }

    [TestCase(BackendKind.IlgpuCpu, HeadLayout.Nhd, SagePv.Fp16)]
    [TestCase(BackendKind.CudaEmu, HeadLayout.Hnd, SagePv.Fp16)]
    [TestCase(BackendKind.CudaEmu, HeadLayout.Nhd, SagePv.Fp8)]
    [TestCase(BackendKind.CudaEmu, HeadLayout.Hnd, SagePv.Fp8)]
    public void PerKeyScalesEqualToTheBlocksGiveTheBlockResultBitForBit(BackendKind kind, HeadLayout layout, SagePv pv)
    {
        var backend = Get(kind);
        // A window that starts mid-tile: masked columns, partially visible tiles and the zero-filled tail.
        var g = Geometry(layout, AttentionMask.BlockCausal(30, 2, 1));
        var x = Make(g, 11);
        var blocked = RunSage(backend, g, x, 64, pv);
        var perKey = RunSage(backend, g, x, 1, pv);
        Assert.That(perKey.O, Is.EqualTo(blocked.O), "o");
        Assert.That(perKey.Lse, Is.EqualTo(blocked.Lse), "lse");
        // And both are the op: within the case table's tolerance of the emulated oracle.
        var expected = Reference(SageAttention.Info.Instantiate(new SageAttention.Params(DType.F16, g, QRows, pv, Lse: true, KRows: 1)), HostInputs(x, 1));
        Assert.That(Errors(expected["o"], perKey.O).RelL2, Is.LessThan(4e-3));
    }

    [TestCase(BackendKind.IlgpuCpu)]
    [TestCase(BackendKind.CudaEmu)]
    public void BlockSparsePerKeyScalesEqualToTheBlocksGiveTheBlockResultBitForBit(BackendKind kind)
    {
        var backend = Get(kind);
        var g = Geometry(HeadLayout.Nhd, AttentionMask.None);
        var blocks = new SparseBlocks(64, 64);
        var x = Make(g, 13);
        // Query block 0 sees key block 1 (the partial last one), nothing else.
        var lut = new double[] { 1, -1 };
        var counts = new double[] { 1 };
        var lutShape = blocks.LutShape(g);
        var countShape = blocks.CountShape(g);
        Assert.That(lutShape.ElementCount, Is.EqualTo(B * H * 2), "the test's LUT assumes one query block of 64 rows and two key blocks per head");
        var fullLut = Enumerable.Range(0, B * H).SelectMany(_ => lut).ToArray();
        var fullCounts = Enumerable.Range(0, B * H).SelectMany(_ => counts).ToArray();
        double[] Run(int kRows)
        {
            var p = new SageAttention.Params(DType.F16, g, QRows, SagePv.Fp8, KRows: kRows);
            using var q = Tensor.FromDoubles(x.Q, DType.I8, g.Q, "q").To(backend);
            using var qs = Tensor.FromDoubles(x.QScale, DType.F32, p.QScaleShape, "q_scale").To(backend);
            using var k = Tensor.FromDoubles(x.K, DType.I8, g.Kv, "k").To(backend);
            using var ks = Tensor.FromDoubles(kRows == 1 ? x.KeyScale : x.BlockScale, DType.F32, p.KScaleShape, "k_scale").To(backend);
            using var v = Tensor.FromDoubles(x.V, DType.F16, g.Kv, "v").To(backend);
            using var map = new BlockMap.Result(Tensor.FromDoubles(fullLut, DType.I32, lutShape, "lut").To(backend),
                Tensor.FromDoubles(fullCounts, DType.I32, countShape, "counts").To(backend), g, blocks);
            using var o = backend.Allocate(DType.F16, g.Q, "o");
            BlockSparseAttention.RunSage(q, qs, k, ks, v, map, o, g.Layout, g.Mask, blocks, QRows, kRows, SagePv.Fp8);
            backend.Synchronize();
            return o.ToDoubles();
        }
        var blocked = Run(64);
        var perKey = Run(1);
        Assert.That(perKey, Is.EqualTo(blocked));
        Assert.That(perKey.Any(e => e != 0), Is.True, "the selected block was attended");
    }

    [TestCase(HeadLayout.Hnd)]
    [TestCase(HeadLayout.Nhd)]
    public void AKScaleOfTheWrongShapeIsRefusedByName(HeadLayout layout)
    {
        var backend = Backends.Get(BackendKind.IlgpuCpu);
        var g = Geometry(layout, AttentionMask.None);
        var p = new SageAttention.Params(DType.F16, g, QRows, SagePv.Fp16, KRows: 1);
        using var q = backend.Allocate(DType.I8, g.Q, "q");
        using var qs = backend.Allocate(DType.F32, p.QScaleShape, "q_scale");
        using var k = backend.Allocate(DType.I8, g.Kv, "k");
        using var v = backend.Allocate(DType.F16, g.Kv, "v");
        using var o = backend.Allocate(DType.F16, g.Q, "o");
        // The per-block shape handed to k_rows=1, and the other layout's per-key shape.
        var blockShape = new Shape(B, Hkv, (Nkv + 63) / 64);
        var otherLayout = layout == HeadLayout.Hnd ? new Shape(B, Nkv, Hkv) : new Shape(B, Hkv, Nkv);
        foreach (var wrong in new[] { blockShape, otherLayout })
        {
            using var ks = backend.Allocate(DType.F32, wrong, "frame_scales");
            var e = Assert.Throws<ArgumentException>(() => SageAttention.Run(q, qs, k, ks, v, o, layout, AttentionMask.None, QRows, 1, SagePv.Fp16))!;
            Assert.That(e.ParamName, Is.EqualTo("k_scale"));
            Assert.That(e.Message, Does.Contain("'frame_scales'").And.Contain(wrong.ToString()).And.Contain(p.KScaleShape.ToString()).And.Contain("k_rows=1"), e.Message);
        }
        // k_rows=64 with a per-key k_scale, through the block-sparse helper.
        using var perKey = backend.Allocate(DType.F32, p.KScaleShape, "cache_scales");
        var blocks = new SparseBlocks(64, 64);
        using var map = new BlockMap.Result(backend.Allocate(DType.I32, blocks.LutShape(g), "lut"), backend.Allocate(DType.I32, blocks.CountShape(g), "counts"), g, blocks);
        var sparse = Assert.Throws<ArgumentException>(() =>
            BlockSparseAttention.RunSage(q, qs, k, perKey, v, map, o, layout, AttentionMask.None, blocks, QRows, 64, SagePv.Fp16))!;
        Assert.That(sparse.ParamName, Is.EqualTo("k_scale"));
        Assert.That(sparse.Message, Does.StartWith("block_sparse_attention: k_scale 'cache_scales'").And.Contain(blockShape.ToString()), sparse.Message);
        // A k_rows other than 64 or 1.
        using var ks2 = backend.Allocate(DType.F32, p.KScaleShape, "k_scale");
        var rows = Assert.Throws<ArgumentException>(() => SageAttention.Run(q, qs, k, ks2, v, o, layout, AttentionMask.None, QRows, 32, SagePv.Fp16))!;
        Assert.That(rows.Message, Does.Contain("32 keys per K scale"), rows.Message);
    }

    [Test]
    public void TheBindingRefusesAKScaleThatDisagreesWithKRows()
    {
        // zoe run / check bind from tensors and attributes: k_rows=1 with the per-block k_scale is refused by name.
        var g = Geometry(HeadLayout.Nhd, AttentionMask.None);
        var p = new SageAttention.Params(DType.F16, g, QRows, SagePv.Fp16);
        var inputs = new Dictionary<string, Tensor>(StringComparer.Ordinal)
        {
            ["q"] = Backends.Host.Allocate(DType.I8, g.Q, "q"),
            ["q_scale"] = Backends.Host.Allocate(DType.F32, p.QScaleShape, "q_scale"),
            ["k"] = Backends.Host.Allocate(DType.I8, g.Kv, "k"),
            ["k_scale"] = Backends.Host.Allocate(DType.F32, p.KScaleShape, "block_scales"),
            ["v"] = Backends.Host.Allocate(DType.F16, g.Kv, "v"),
        };
        try
        {
            var attrs = new Dictionary<string, string>(StringComparer.Ordinal) { ["layout"] = "nhd", ["pv"] = "fp16", ["k_rows"] = "1" };
            var e = Assert.Throws<ArgumentException>(() => OpCatalog.Get("sage_attention").Bind(new OpBinding("sage_attention", inputs, attrs)))!;
            Assert.That(e.ParamName, Is.EqualTo("k_scale"));
            Assert.That(e.Message, Does.Contain("'block_scales'").And.Contain(new Shape(B, Nkv, Hkv).ToString()), e.Message);
            // The same tensors bind with the default k_rows (64), and k_rows=1 binds with a per-key k_scale.
            attrs.Remove("k_rows");
            Assert.That(OpCatalog.Get("sage_attention").Bind(new OpBinding("sage_attention", inputs, attrs)).Label, Does.Not.Contain("k/1"));
            inputs["k_scale"].Dispose();
            inputs["k_scale"] = Backends.Host.Allocate(DType.F32, new Shape(B, Nkv, Hkv), "cache_scales");
            attrs["k_rows"] = "1";
            Assert.That(OpCatalog.Get("sage_attention").Bind(new OpBinding("sage_attention", inputs, attrs)).Label, Does.Contain("k/1"));
        }
        finally
        {
            foreach (var t in inputs.Values)
            {
                t.Dispose();
            }
        }
    }
}
