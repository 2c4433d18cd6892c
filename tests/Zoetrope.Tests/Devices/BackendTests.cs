using NUnit.Framework;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Cuda;
using Zoetrope.Runtime.Native;

namespace Zoetrope.Tests.Devices;

/// <summary>Selecting backends: the CPU ones always open; GPU ones say why not, as a typed error.</summary>
public class BackendTests
{
    [Test]
    public void CpuBackendsAreAlwaysAvailable()
    {
        Assert.That(Zoetrope.Runtime.Backends.Get(BackendKind.Reference).Kind, Is.EqualTo(BackendKind.Reference));
        var cpu = Zoetrope.Runtime.Backends.Get("ilgpu-cpu");
        Assert.That(cpu, Is.InstanceOf<IlgpuBackend>());
        Assert.That(((IlgpuBackend)cpu).Accelerator.WarpSize, Is.EqualTo(32), "warp code must run as on a GPU");
        Assert.That(Zoetrope.Runtime.Backends.Get(BackendKind.IlgpuCpu), Is.SameAs(cpu), "shared instances are reused");
    }

    [Test]
    public void SharedBackendsIgnoreDispose()
    {
        var cpu = Zoetrope.Runtime.Backends.Get(BackendKind.IlgpuCpu);
        cpu.Dispose();
        Assert.That(cpu.IsDisposed, Is.False);
        using var t = cpu.Allocate(DType.F32, new Shape(4), "t");
        Assert.That(t.ElementCount, Is.EqualTo(4));
    }

    [Test]
    public void OwnedIlgpuCpuBackendOpensAndCloses()
    {
        var b = Zoetrope.Runtime.Backends.Create(BackendKind.IlgpuCpu);
        using (var t = b.Allocate(DType.BF16, new Shape(3), "t"))
        {
            t.WriteDoubles([1, 2, 3]);
            Assert.That(t.ToDoubles(), Is.EqualTo(new double[] { 1, 2, 3 }));
        }
        b.Dispose();
        Assert.That(b.IsDisposed, Is.True);
    }

    [Test]
    public void GpuBackendsFailAtSelectionWithTheReasonWhenAbsent()
    {
        foreach (var kind in new[] { BackendKind.IlgpuCuda, BackendKind.Cuda })
        {
            var probe = Zoetrope.Runtime.Backends.Probe(kind);
            if (probe.Available)
            {
                Assert.That(Zoetrope.Runtime.Backends.Get(kind).Kind, Is.EqualTo(kind));
                continue;
            }
            Assert.That(probe.Reason, Is.Not.Empty);
            var e = Assert.Throws<ZoetropeDeviceException>(() => Zoetrope.Runtime.Backends.Create(kind))!;
            Assert.That(e.Message, Does.Contain(kind.Label()).And.Contain(probe.Reason));
        }
    }

    [Test]
    public void CudaBackendNamesTheMissingShim()
    {
        Assume.That(NativeShim.IsLoaded, Is.False, "the shim is built here");
        var probe = Zoetrope.Runtime.Backends.Probe(BackendKind.Cuda);
        Assert.That(probe.Available, Is.False);
        Assert.That(probe.Reason, Does.Contain("libzoetrope_native.so").And.Contain("cmake"));
    }

    [Test]
    public void DriverProbeNeverThrowsAndGeneratedWrappersGiveTypedErrors()
    {
        var probe = CudaDriver.Probe();
        Assert.That(probe.Available || probe.Reason.Length > 0, Is.True);
        if (!NativeShim.IsLoaded)
        {
            // Calling a native kernel without the shim is the typed error, not a DllNotFoundException.
            Assert.Throws<ZoetropeDeviceException>(() => ZtNative.Version());
        }
    }

    [Test]
    public void BackendNamesParse()
    {
        Assert.That(BackendKinds.ParseList("reference, ilgpu-cpu"), Is.EqualTo(new[] { BackendKind.Reference, BackendKind.IlgpuCpu }));
        Assert.That(BackendKinds.ParseList("all"), Is.EqualTo(BackendKinds.All));
        var e = Assert.Throws<ArgumentException>(() => BackendKinds.Parse("opencl"))!;
        Assert.That(e.Message, Does.Contain("ilgpu-cuda"));
    }
}
