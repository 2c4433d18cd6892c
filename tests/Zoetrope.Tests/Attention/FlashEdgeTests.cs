using NUnit.Framework;
using Zoetrope.Attention;
using Zoetrope.Attention.Flash;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Execution;
using Zoetrope.Runtime.Ops;
using static Zoetrope.Tests.Attention.AttentionTestKit;

namespace Zoetrope.Tests.Attention;

/// <summary>
/// Issue 17, finding 8, on the emulated CUDA device (the hand-written kernels): a q/k/v/o view off a
/// 16-byte boundary is refused by name before any launch (the kernels move them in 16-byte
/// cp.async chunks, where a GPU would take a sticky misaligned-address error), and Sage with bf16 V
/// above the f16 range stays finite (V used to be converted to f16 on its way to the MMA).
/// </summary>
[NonParallelizable]
public class FlashEdgeTests
{
    private static Backend Emulated()
    {
        var probe = Backends.Probe(BackendKind.CudaEmu);
        if (!probe.Available)
        {
            Assert.Ignore($"cuda-emu is not available here: {probe.Reason}");
        }
        return Backends.Get(BackendKind.CudaEmu);
    }

    [TestCase("q")]
    [TestCase("v")]
    public void AViewOffA16ByteBoundaryIsRefusedNamingTheTensor(string which)
    {
        var backend = Emulated();
        const int n = 64, d = 64;
        var shape = new Shape(1, 1, n, d);
        using var buffer = backend.Allocate(DType.F16, new Shape((n * d) + 1), "buffer");
        buffer.FillBytes(0);
        // One f16 element in: the view starts 2 bytes past an allocation's (256-byte) alignment.
        var shifted = buffer.Slice(0, 1, n * d).Reshape(shape, which);
        using var a = backend.Allocate(DType.F16, shape, "a");
        using var b = backend.Allocate(DType.F16, shape, "b");
        using var o = backend.Allocate(DType.F16, shape, "o");
        a.FillBytes(0);
        b.FillBytes(0);
        var q = which == "q" ? shifted : a;
        var v = which == "v" ? shifted : b;
        var e = Assert.Throws<ZoetropeKernelException>(() =>
            Zoetrope.Attention.Flash.Attention.Run(q, a, v, o, HeadLayout.Hnd, AttentionMask.None))!;
        Assert.That(e.Message, Does.Contain($"{which} is not 16-byte aligned"), e.Message);

        // Nothing was launched and nothing is pending: the same op on aligned tensors runs.
        Zoetrope.Attention.Flash.Attention.Run(a, a, b, o, HeadLayout.Hnd, AttentionMask.None);
        backend.Synchronize();
    }

    [Test]
    public void SageWithBf16VAboveTheF16RangeStaysFinite()
    {
        var backend = Emulated();
        const int n = 64, d = 64;
        var g = Hnd(1, 1, 1, n, n, d, AttentionMask.None);
        var (q8, qs, _) = SageQuantize(Gaussian(n * d, 3), 1, 1, n, d, 64, false, Math.Log2(Math.E) / Math.Sqrt(d));
        var (k8, ks, _) = SageQuantize(Gaussian(n * d, 4), 1, 1, n, d, 64, true, 1);
        // |V| up to 3e5: representable in bf16, infinite in f16 (max 65504).
        var v = Rounded(Gaussian(n * d, 5, std: 1e5), DType.BF16);
        Assert.That(v.Max(Math.Abs), Is.GreaterThan(65504));
        var op = SageAttention.Info.Instantiate(new SageAttention.Params(DType.BF16, g, 64, SagePv.Fp16));
        var inputs = new Dictionary<string, double[]> { ["q"] = q8, ["q_scale"] = qs, ["k"] = k8, ["k_scale"] = ks, ["v"] = v };
        var actual = Run(op, backend, inputs)["o"];
        var expected = Reference(op, inputs)["o"];
        Assert.That(actual.All(double.IsFinite), Is.True, "Inf or NaN in the output");
        Assert.That(Errors(expected, actual).RelL2, Is.LessThan(1e-2));
    }

    [TestCase("sla")]
    [TestCase("block_sparse_attention")]
    public void TheSparseKernelsRefuseAnUnalignedQueryByNameToo(string opName)
    {
        // The same 16-byte rule in the exports built on the sparse flash kernel (zt_sla had no check).
        var backend = Emulated();
        var instance = OpCatalog.Get(opName).Cases().First(c => c.Use.HasFlag(CaseUse.Emulator)).Instance;
        var inputs = InputFactory.HostInputs(instance.Signature, seed: 1);
        var owned = new List<Tensor>();
        try
        {
            var tensors = new OpTensors();
            foreach (var spec in instance.Signature.Tensors)
            {
                var t = spec.IsRead ? inputs[spec.Name].To(backend, spec.Name) : backend.Allocate(spec.DType, spec.Shape, spec.Name);
                owned.Add(t);
                if (spec.Name == "q")
                {
                    // The same values one element past the allocation's start.
                    var buffer = backend.Allocate(spec.DType, new Shape(spec.Shape.ElementCount + 1), "buffer");
                    owned.Add(buffer);
                    t = buffer.Slice(0, 1, spec.Shape.ElementCount).Reshape(spec.Shape, "q");
                    t.CopyFrom(owned[^2]);
                }
                tensors.Add(spec.Name, t);
            }
            var e = Assert.Throws<ZoetropeKernelException>(() => instance.Run(backend, tensors))!;
            Assert.That(e.Message, Does.Contain("q is not 16-byte aligned"), e.Message);
        }
        finally
        {
            owned.ForEach(t => t.Dispose());
            foreach (var t in inputs.Values)
            {
                t.Dispose();
            }
        }
    }
}
