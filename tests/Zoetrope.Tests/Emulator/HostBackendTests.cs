using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using NUnit.Framework;
using Zoetrope.Emulator;
using Zoetrope.Emulator.Device;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Native;

namespace Zoetrope.Tests.Emulator;

/// <summary>
/// The backends on the emulated device: <c>ilgpu-emu</c> is ILGPU's own CUDA accelerator on the
/// emulated driver (memory, streams, module loads and launches through ILGPU's code), and
/// <c>cuda-emu</c> adds the hand-written kernels' library. Opening one commits the test process
/// to the emulated device; where the process already uses a real GPU, these tests are skipped.
/// </summary>
[NonParallelizable]
public class HostBackendTests
{
    internal static IlgpuBackend Open(BackendKind kind)
    {
        var probe = Backends.Probe(kind);
        if (!probe.Available)
        {
            Assert.Ignore($"{kind.Label()} is not available here: {probe.Reason}");
        }
        return (IlgpuBackend)Backends.Create(kind);
    }

    private static void Fill(Index1D i, ArrayView<int> values, int x) => values[i] = x + i;

    [Test]
    public void IlgpuEmuIsAnIlgpuCudaAcceleratorWhoseMemoryRoundTrips()
    {
        using var backend = Open(BackendKind.IlgpuEmu);
        Assert.That(backend.Accelerator, Is.InstanceOf<CudaAccelerator>());
        var cuda = (CudaAccelerator)backend.Accelerator;
        Assert.That(cuda.Name, Is.EqualTo(EmuDevice.Shared.Properties.Name));
        // The part ZOETROPE_EMU_SM chose (sm_80 unless set: CI also runs an sm_89 and an sm_90 part).
        var part = EmuDevice.Shared.Properties;
        Assert.That(cuda.Architecture, Is.EqualTo(new CudaArchitecture(part.Major, part.Minor)));
        Assert.That(backend.DeviceArch, Is.EqualTo($"sm_{part.Major}{part.Minor}"), "what the dispatch tables are keyed by");
        TestContext.Out.WriteLine($"ILGPU on the emulated device: {cuda.Architecture}, PTX ISA {cuda.InstructionSet}, driver {cuda.DriverVersion}");

        var bytes = new byte[1000];
        new Random(5).NextBytes(bytes);
        using var t = backend.Allocate(DType.U8, new Shape(1000), "t");
        Assert.That(EmuDevice.Shared.Memory.TryFind((ulong)backend.DevicePointer(t), 1000, out _, out _), Is.True,
            "the tensor lives in the emulated device's memory");
        t.CopyFrom(bytes);
        Assert.That(t.ToBytes(), Is.EqualTo(bytes));
        using var u = backend.Allocate(DType.U8, new Shape(1000), "u");
        u.CopyFrom(t);
        t.FillBytes(7);
        Assert.That(t.ToBytes(), Is.All.EqualTo(7));
        Assert.That(u.ToBytes(), Is.EqualTo(bytes), "device-to-device copy");
        using var timer = backend.CreateTimer();
        timer.Start();
        timer.Stop();
        Assert.That(timer.ElapsedMilliseconds, Is.GreaterThanOrEqualTo(0));

        foreach (var real in new[] { BackendKind.IlgpuCuda, BackendKind.Cuda })
        {
            Assert.That(Backends.Probe(real).Reason, Does.Contain("this process uses the emulated CUDA device"), real.Label());
        }
        Assert.That(EmulatedCuda.Mode, Is.EqualTo(CudaProcessMode.Emulated));
        Assert.That(EmulatedCuda.TryClaim(CudaProcessMode.Real, out var why), Is.False);
        Assert.That(why, Does.Contain("need a process of their own"));
    }

    [Test]
    public void AMissingLibraryIsNamedWithHowToBuildIt()
    {
        var file = new NativeLibraryFile("libzoetrope_nothing_emu.so", "ZOETROPE_NOTHING", "ZOETROPE_NATIVE", true,
            "the nothing library is not built", "build it: cmake -S . -B build && cmake --build build --target nothing");
        Assert.That(file.TryLoad(out var why), Is.False);
        Assert.That(why, Does.StartWith("the nothing library is not built: libzoetrope_nothing_emu.so not found (searched ")
            .And.Contain(Path.Combine(AppContext.BaseDirectory, "libzoetrope_nothing_emu.so"))
            .And.Contain("cmake --build build --target nothing")
            .And.EndWith("or set ZOETROPE_NOTHING"));
    }

    [Test]
    public void IlgpuKernelsReachTheDeviceThroughIlgpusLaunchPath()
    {
        using var backend = Open(BackendKind.IlgpuEmu);
        var recorder = new RecordingExecutor();
        HostTestSupport.WithExecutor(recorder, () =>
        {
            var kernel = backend.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, int>(Fill);
            var (ptx, origin) = recorder.Loaded.Single();
            TestContext.Out.WriteLine($"{origin}: {ptx.Split('\n').FirstOrDefault(l => l.StartsWith(".version", StringComparison.Ordinal))}, "
                + $"{ptx.Split('\n').FirstOrDefault(l => l.StartsWith(".target", StringComparison.Ordinal))}");
            Assert.That(ptx, Does.Contain(".target sm_80").And.Contain(".entry"));

            using var buffer = backend.Accelerator.Allocate1D<int>(100);
            kernel(100, buffer.View, 42);
            backend.Stream.Synchronize();
            var (function, config, parameters) = recorder.Launches.Single();
            Assert.That(config.Grid.Count * config.Block.Count, Is.GreaterThanOrEqualTo(100));
            Assert.That(parameters, Has.Length.EqualTo(Math.Max(1, function.ParameterBytes)), "ILGPU's packed argument buffer, through `extra`");
            var address = BitConverter.GetBytes((ulong)buffer.NativePtr);
            Assert.That(Enumerable.Range(0, parameters.Length - 7).Any(i => parameters.AsSpan(i, 8).SequenceEqual(address)), Is.True,
                "the view's device address is among the arguments");
            Assert.That(Enumerable.Range(0, parameters.Length - 3).Any(i => BitConverter.ToInt32(parameters, i) == 42), Is.True);

            recorder.LaunchFailure = new EmulatorException(EmuError.IllegalAddress, "kernel Fill: CTA (2,0,0) thread (5,0,0): st.global outside every allocation at PTX line 31");
            var e = Assert.Catch<Exception>(() => kernel(100, buffer.View, 42))!;
            Assert.That(e.Message, Does.Contain("an illegal memory access was encountered").And.Contain("PTX line 31"),
                "ILGPU's exception carries the device's diagnostic");
        });
    }

    [Test]
    public void CudaEmuRunsTheNativeLibrarysHostCodeOnTheEmulatedDevice()
    {
        using var backend = (CudaBackend)Open(BackendKind.CudaEmu);
        Assert.That(backend.Kind, Is.EqualTo(BackendKind.CudaEmu));
        Assert.That(backend.DeviceName, Does.Contain(NativeShim.EmulatedFileName));
        Assert.That(Zoetrope.Emulator.Host.EmuRuntime.KernelCount, Is.GreaterThan(0));
        Assert.That(NativeShim.HasExport("zt_axpby"), Is.True);
        Assert.That(NativeShim.HasExport("zt_linear_cutlass"), Is.False, "CUTLASS kernels are left out of the emulated build");

        var recorder = new RecordingExecutor();
        using var x = backend.Allocate(DType.F32, new Shape(300), "x");
        using var y = backend.Allocate(DType.F32, new Shape(300), "y");
        using var o = backend.Allocate(DType.F32, new Shape(300), "out");
        HostTestSupport.WithExecutor(recorder, () =>
        {
            ZtNative.Axpby(backend, DType.F32, 300, 0.5f, x, 2f, y, o);
            var (function, _, parameters) = recorder.Launches.Single();
            Assert.That(function.Name, Does.Contain("axpby"));
            Assert.That(BitConverter.ToUInt64(parameters, 16), Is.EqualTo((ulong)backend.DevicePointer(x)));

            recorder.LaunchFailure = new EmulatorException(EmuError.IllegalAddress, "kernel axpby: CTA (0,0,0) thread (0,0,0): ld.global outside every allocation at PTX line 77");
            var e = Assert.Throws<ZoetropeKernelException>(() => ZtNative.Axpby(backend, DType.F32, 300, 0.5f, x, 2f, y, o))!;
            Assert.That(e.Message, Does.Contain("zt_axpby").And.Contain("cudaErrorIllegalAddress").And.Contain("emulated device:").And.Contain("PTX line 77"));
        });
    }
}
