using NUnit.Framework;
using Zoetrope.Quant;
using Zoetrope.Quant.Gemm;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Execution;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Tests.Quant;

/// <summary>The W8A8 linear: exact integer sums, accuracy against the unquantized layer, dispatch.</summary>
public class W8A8Tests
{
    private static readonly Backend Cpu = Zoetrope.Runtime.Backends.Get(BackendKind.IlgpuCpu);

    private static double[] Ints(int n, int seed)
    {
        var v = new double[n];
        InitSpec.Integers(-127, 127).Fill(v, new Random(seed));
        return v;
    }

    [TestCase(W8A8Scheme.PerTokenPerChannel, 9, 17, 200)]
    [TestCase(W8A8Scheme.Block128, 9, 17, 300)]
    [TestCase(W8A8Scheme.Block128, 130, 3, 64)]
    public void Int32AccumulationIsExact(W8A8Scheme scheme, int m, int n, int k)
    {
        // Unit scales and an f32 output: y must be the integer dot products, exactly (|y| < 2^24).
        var p = new LinearInt8.Params(DType.F32, m, n, k, scheme, false, false);
        using var x = Tensor.FromDoubles(Ints(m * k, 1), DType.I8, new Shape(m, k), "x");
        using var w = Tensor.FromDoubles(Ints(n * k, 2), DType.I8, new Shape(n, k), "w");
        using var xs = Tensor.FromDoubles(Enumerable.Repeat(1.0, (int)p.XScaleShape.ElementCount).ToArray(), DType.F32, p.XScaleShape, "xs");
        using var ws = Tensor.FromDoubles(Enumerable.Repeat(1.0, (int)p.WScaleShape.ElementCount).ToArray(), DType.F32, p.WScaleShape, "ws");
        var expected = ReferenceRunner.Run(LinearInt8.Info.Instantiate(p),
            new Dictionary<string, Tensor> { ["x"] = x, ["x_scale"] = xs, ["weight"] = w, ["w_scale"] = ws })["y"];
        using var y = Cpu.Allocate(DType.F32, new Shape(m, n), "y");
        LinearInt8.Run(scheme, x.To(Cpu), xs.To(Cpu), w.To(Cpu), ws.To(Cpu), null, y);
        var actual = y.ToDoubles();
        Assert.That(actual, Is.EqualTo(expected));
        Assert.That(actual.All(v => v == Math.Round(v)), Is.True);
    }

    private static (double Cos, double RelL2) Compare(double[] reference, double[] actual)
    {
        double dot = 0, nr = 0, na = 0, diff = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            dot += reference[i] * actual[i];
            nr += reference[i] * reference[i];
            na += actual[i] * actual[i];
            diff += (reference[i] - actual[i]) * (reference[i] - actual[i]);
        }
        return (dot / Math.Sqrt(nr * na), Math.Sqrt(diff / nr));
    }

    [TestCase(LinearPath.Int8, 0.999)]
    [TestCase(LinearPath.Int8Block128, 0.999)]
    [TestCase(LinearPath.Fp8, 0.995)]
    public void QuantizedLayerTracksTheFloatLayerWithOutlierChannels(LinearPath path, double minCosine)
    {
        // Gaussian activations with four outlier channels at 10 sigma: the case that makes
        // per-token INT8 lose the small values, as transformer activations do.
        const int m = 24, k = 384, n = 40;
        var rng = new Random(7);
        var x = new double[m * k];
        InitSpec.Normal.Fill(x, rng);
        foreach (int c in new[] { 5, 77, 200, 311 })
        {
            for (int r = 0; r < m; r++)
            {
                x[(r * k) + c] *= 10;
            }
        }
        var w = new double[n * k];
        InitSpec.Gaussian(0, 1 / Math.Sqrt(k)).Fill(w, rng);
        var b = new double[n];
        InitSpec.Gaussian(0, 0.1).Fill(b, rng);
        using var tx = Tensor.FromDoubles(x, DType.F32, new Shape(m, k), "x");
        using var tw = Tensor.FromDoubles(w, DType.F32, new Shape(n, k), "w");
        using var tb = Tensor.FromDoubles(b, DType.F32, new Shape(n), "b");
        var exact = ReferenceRunner.Run(Linear.Info.Instantiate(new Linear.Params(DType.F32, m, n, k, true, false)),
            new Dictionary<string, Tensor> { ["x"] = tx, ["weight"] = tw, ["bias"] = tb })["y"];

        // The reference backend runs every op of the layer (quantize, GEMM) as its oracle.
        var host = Zoetrope.Runtime.Backends.Host;
        using var layer = QuantizedLinear.Create(host, tw, tb, path, DType.F32);
        using var y = host.Allocate(DType.F32, new Shape(m, n), "y");
        layer.Forward(tx, y);
        var (cos, rel) = Compare(exact, y.ToDoubles());
        TestContext.Out.WriteLine($"{path}: cosine {cos:0.000000}, relative L2 {rel:0.00e+0} against the f32 layer (4 outlier channels at 10 sigma)");
        Assert.That(cos, Is.GreaterThanOrEqualTo(minCosine));
    }

    [Test]
    public void QuantizedLayerRunsOnIlgpuCpuLikeOnTheReference()
    {
        const int m = 5, k = 64, n = 9;
        var rng = new Random(3);
        var x = new double[m * k];
        InitSpec.Normal.Fill(x, rng);
        var w = new double[n * k];
        InitSpec.Gaussian(0, 0.125).Fill(w, rng);
        using var tx = Tensor.FromDoubles(x, DType.BF16, new Shape(m, k), "x");
        using var tw = Tensor.FromDoubles(w, DType.F32, new Shape(n, k), "w");
        foreach (var path in Enum.GetValues<LinearPath>())
        {
            using var onHost = QuantizedLinear.Create(Zoetrope.Runtime.Backends.Host, tw, null, path);
            using var onCpu = QuantizedLinear.Create(Cpu, tw, null, path);
            using var yh = Zoetrope.Runtime.Backends.Host.Allocate(DType.BF16, new Shape(m, n), "yh");
            using var yc = Cpu.Allocate(DType.BF16, new Shape(m, n), "yc");
            onHost.Forward(tx, yh, gelu: true);
            onCpu.Forward(tx.To(Cpu), yc, gelu: true);
            var (cos, _) = Compare(yh.ToDoubles(), yc.ToDoubles());
            Assert.That(cos, Is.GreaterThan(0.9999), path.ToString());
            Assert.That(onCpu.Weight.DType, Is.EqualTo(path switch { LinearPath.Bf16 => DType.BF16, LinearPath.Fp8 => DType.F8E4M3, _ => DType.I8 }));
        }
    }

    [Test]
    public void BadShapesAreArgumentErrors()
    {
        using var w = Tensor.FromDoubles(new double[12], DType.F32, new Shape(3, 4), "w");
        using var layer = QuantizedLinear.Create(Zoetrope.Runtime.Backends.Host, w, null, LinearPath.Int8, DType.F32);
        var e = Assert.Throws<ArgumentException>(() => layer.Forward(Tensor.FromDoubles(new double[10], DType.F32, new Shape(2, 5), "x"), Zoetrope.Runtime.Backends.Host.Allocate(DType.F32, new Shape(2, 3), "y")))!;
        Assert.That(e.Message, Does.Contain("[2, 5]").And.Contain("4]"));
        Assert.Throws<ArgumentException>(() => QuantizedLinear.Create(Zoetrope.Runtime.Backends.Host, w, Tensor.FromDoubles(new double[4], DType.F32, new Shape(4), "b"), LinearPath.Int8));
        var k = Assert.Throws<ArgumentException>(() => LinearInt8.Run(W8A8Scheme.PerTokenPerChannel, T(DType.I8, 2, 4), T(DType.F32, 2), T(DType.I8, 3, 5), T(DType.F32, 3), null, T(DType.BF16, 2, 3)))!;
        Assert.That(k.Message, Does.Contain("[2, 4]").And.Contain("[3, 5]"));
    }

    private static Tensor T(DType d, params long[] s) => Zoetrope.Runtime.Backends.Host.Allocate(d, new Shape(s), "t");

    [Test]
    public void DispatchTakesTheNearestMeasurementAndSaysWhenThereIsNone()
    {
        var table = new LinearDispatch(
        [
            new DispatchEntry("sm_90", "linear_path", 4680, 1536, 1536, "Int8", 0.05, "bench/results/h100/a.json"),
            new DispatchEntry("sm_90", "linear_path", 32760, 1536, 1536, "Bf16", 0.30, "bench/results/h100/a.json"),
        ]);
        Assert.That(table.Choose("sm_90", "linear_path", 5000, 1536, 1536, "Fp8").Choice, Is.EqualTo("Int8"));
        Assert.That(table.Choose("sm_90", "linear_path", 30000, 1536, 1536, "Fp8").Choice, Is.EqualTo("Bf16"));
        var none = table.Choose("sm_89", "linear_path", 4680, 1536, 1536, "Int8");
        Assert.That(none.Choice, Is.EqualTo("Int8"));
        Assert.That(none.Reason, Does.Contain("no measurement on sm_89"));
        Assert.That(LinearDispatch.Default.Entries, Is.Empty, "no GPU measurement has been committed yet");
    }
}
