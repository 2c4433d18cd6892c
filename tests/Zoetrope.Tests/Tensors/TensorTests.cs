using NUnit.Framework;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Tensors;

/// <summary>Views without copies, strided host copies on every CPU backend, and the error messages.</summary>
public class TensorTests
{
    private static double[] Iota(int n) => Enumerable.Range(0, n).Select(i => (double)i).ToArray();

    public static IEnumerable<BackendKind> CpuBackends() => [BackendKind.Reference, BackendKind.IlgpuCpu];

    [TestCaseSource(nameof(CpuBackends))]
    public void SliceAndTransposeShareStorageAndReadCorrectly(BackendKind kind)
    {
        var backend = Backends.Get(kind);
        using var host = Tensor.FromDoubles(Iota(24), DType.F32, new Shape(2, 3, 4), "t");
        using var t = host.To(backend);
        var slice = t.Slice(1, 1, 2);
        Assert.That(slice.Storage, Is.SameAs(t.Storage));
        Assert.That(slice.Shape, Is.EqualTo(new Shape(2, 2, 4)));
        Assert.That(slice.IsContiguous, Is.False);
        Assert.That(slice.ToDoubles(), Is.EqualTo(new double[] { 4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23 }));

        var tr = t.Transpose(1, 2);
        Assert.That(tr.Shape, Is.EqualTo(new Shape(2, 4, 3)));
        Assert.That(tr.ToDoubles().Take(6), Is.EqualTo(new double[] { 0, 4, 8, 1, 5, 9 }));

        var flat = t.Reshape(new Shape(6, 4));
        Assert.That(flat.ToDoubles(), Is.EqualTo(Iota(24)));
    }

    [TestCaseSource(nameof(CpuBackends))]
    public void WritingThroughAStridedViewLeavesTheRestAlone(BackendKind kind)
    {
        var backend = Backends.Get(kind);
        using var t = Tensor.FromDoubles(Iota(12), DType.BF16, new Shape(3, 4), "t").To(backend);
        var column = t.Slice(1, 2, 1);
        column.WriteDoubles([-1, -2, -3]);
        Assert.That(t.ToDoubles(), Is.EqualTo(new double[] { 0, 1, -1, 3, 4, 5, -2, 7, 8, 9, -3, 11 }));
    }

    [Test]
    public void ViewsDoNotFreeTheirParentsStorage()
    {
        var t = Tensor.FromDoubles(Iota(4), DType.F32, new Shape(4), "t");
        t.Slice(0, 1, 2).Dispose();
        Assert.That(t.ToDoubles(), Is.EqualTo(Iota(4)));
        t.Dispose();
        Assert.Throws<ObjectDisposedException>(() => t.ToDoubles());
    }

    [Test]
    public void ErrorsNameTheTensorAndBothShapes()
    {
        using var t = Tensor.FromDoubles(Iota(6), DType.F32, new Shape(2, 3), "activations");
        var e = Assert.Throws<ArgumentException>(() => t.Reshape(new Shape(4, 2)))!;
        Assert.That(e.Message, Does.Contain("activations").And.Contain("[2, 3]").And.Contain("[4, 2]"));
        var e2 = Assert.Throws<ArgumentException>(() => t.Expect(DType.F32, new Shape(3, 2)))!;
        Assert.That(e2.Message, Does.Contain("activations").And.Contain("expected shape [3, 2], got [2, 3]"));
        var e3 = Assert.Throws<ArgumentException>(() => t.Transpose(0, 1).Reshape(new Shape(6)))!;
        Assert.That(e3.Message, Does.Contain("non-contiguous"));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Slice(1, 2, 2));
        var e4 = Assert.Throws<ArgumentException>(() => Tensor.FromDoubles([1, 2, 3], DType.F32, new Shape(2, 2), "w"))!;
        Assert.That(e4.Message, Does.Contain("'w'").And.Contain("[2, 2]"));
    }

    [Test]
    public void FromArrayPicksTheDtypeAndCopiesBitsExactly()
    {
        using var t = Tensor.FromArray(new[] { new BFloat16(0x3F80), new BFloat16(0xC000) }, new Shape(2), "b");
        Assert.That(t.DType, Is.EqualTo(DType.BF16));
        Assert.That(t.ToDoubles(), Is.EqualTo(new double[] { 1, -2 }));
        Assert.That(t.ToArray<ushort>(), Is.EqualTo(new ushort[] { 0x3F80, 0xC000 }));
    }

    [Test]
    public void CopiesBetweenBackendsRoundTrip()
    {
        var cpu = Backends.Get(BackendKind.IlgpuCpu);
        foreach (var dtype in DTypes.All)
        {
            var values = Enumerable.Range(0, 17).Select(i => (double)(i - 8)).ToArray();
            using var host = Tensor.FromDoubles(values, dtype, new Shape(17), "v");
            using var dev = host.To(cpu);
            using var back = dev.To(Backends.Host);
            Assert.That(back.ToBytes(), Is.EqualTo(host.ToBytes()), dtype.Name());
        }
    }
}
