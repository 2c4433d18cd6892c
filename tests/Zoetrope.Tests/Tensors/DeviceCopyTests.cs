// Tensor.CopyFrom between tensors of one backend stays on the device (the KV cache's frame
// writes), is exact for overlapping views, and the backend's live/peak byte counts follow
// allocations and frees.
using NUnit.Framework;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Tensors;

[TestFixture]
public sealed class DeviceCopyTests
{
    [TestCase("reference")]
    [TestCase("ilgpu-cpu")]
    public void CopiesSlicesOnTheDeviceAndOverlapsExactly(string name)
    {
        var backend = Backends.Get(name);
        var values = Enumerable.Range(0, 24).Select(i => (double)i).ToArray();
        using var a = backend.Allocate(DType.F32, new Shape(6, 4), "a");
        a.WriteDoubles(values);
        using var b = backend.Allocate(DType.F32, new Shape(6, 4), "b");
        b.FillBytes(0);
        b.Slice(0, 2, 3).CopyFrom(a.Slice(0, 0, 3));
        Assert.That(b.ToDoubles()[8..20], Is.EqualTo(values[..12]));
        Assert.That(b.ToDoubles()[..8], Is.All.Zero);

        // Rows 0..3 onto rows 2..5 of the same tensor: the result must be the old rows 0..3.
        a.Slice(0, 2, 4).CopyFrom(a.Slice(0, 0, 4));
        Assert.That(a.ToDoubles()[8..], Is.EqualTo(values[..16]));
    }

    [Test]
    public void LiveAndPeakBytesFollowAllocations()
    {
        using var backend = Backends.Create(BackendKind.Reference);
        long before = backend.LiveBytes;
        backend.ResetPeakBytes();
        var t = backend.Allocate(DType.F32, new Shape(1000), "t");
        Assert.That(backend.LiveBytes, Is.EqualTo(before + 4000));
        t.Dispose();
        Assert.That(backend.LiveBytes, Is.EqualTo(before));
        Assert.That(backend.PeakBytes, Is.EqualTo(before + 4000));
    }
}
