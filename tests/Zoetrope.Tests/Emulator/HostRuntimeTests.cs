using System.Runtime.InteropServices;
using NUnit.Framework;
using Zoetrope.Emulator.Device;
using Zoetrope.Emulator.Host;

namespace Zoetrope.Tests.Emulator;

/// <summary>
/// The emulated CUDA runtime's C# side: registrations of fat binaries and kernels, host stub to
/// kernel, launches, attributes, memory; then libzoetrope_native_emu.so itself where it is built:
/// its static constructors' registrations replayed at install, and a kernel of the real library
/// launched through its unchanged host code.
/// </summary>
[NonParallelizable]
public unsafe class HostRuntimeTests
{
    private const string Ptx = ".version 8.4\n.target sm_80\n.address_size 64\n\n.visible .entry scale(\n\t.param .u64 scale_x,\n\t.param .f32 scale_a,\n\t.param .u32 scale_n\n)\n{\n\tret;\n}\n";

    // Never freed: the runtime keeps registrations, as a library's data stays mapped.
    private static byte* FatBinaryWrapper(string ptx, ulong flags = 0x11)
    {
        var image = HostTestSupport.FatBinaryImage((Zoetrope.Emulator.Host.FatBinaryEntry.KindPtx, 80, flags, HostTestSupport.PtxPayload(ptx)));
        var data = (byte*)NativeMemory.Alloc((nuint)image.Length);
        image.CopyTo(new Span<byte>(data, image.Length));
        var wrapper = (ulong*)NativeMemory.AllocZeroed(24);
        ((uint*)wrapper)[0] = FatBinary.WrapperMagic;
        ((int*)wrapper)[1] = 1;
        wrapper[1] = (ulong)data;
        return (byte*)wrapper;
    }

    [Test]
    public void RegisteredStubsLaunchTheirKernelsWithTheirArguments()
    {
        var wrapper = FatBinaryWrapper(Ptx);
        nint handle = (nint)0x5100_1000, stub = (nint)0x5100_2000;
        var registerFatbin = (delegate* unmanaged<nint, nint, int>)HostTestSupport.RuntimeEntry("register_fatbin");
        var registerFunction = (delegate* unmanaged<nint, nint, byte*, int>)HostTestSupport.RuntimeEntry("register_function");
        var launch = (delegate* unmanaged<nint, uint*, void**, nuint, nint, int>)HostTestSupport.RuntimeEntry("launch");
        Assert.That(registerFatbin(handle, (nint)wrapper), Is.EqualTo(0));
        fixed (byte* name = "scale\0"u8)
        {
            Assert.That(registerFunction(handle, stub, name), Is.EqualTo(0));
            Assert.That(registerFunction((nint)0x5100_9999, stub + 16, name), Is.EqualTo(1), "a kernel of an unknown fat binary");
        }
        Assert.That(EmuRuntime.RegisteredKernels(), Does.Contain((stub, "scale")));

        var recorder = new RecordingExecutor();
        HostTestSupport.WithExecutor(recorder, () =>
        {
            ulong x = 0xABCDEF00;
            float a = -1.5f;
            uint n = 1000;
            var args = stackalloc void*[] { &x, &a, &n };
            var dims = stackalloc uint[] { 4, 1, 1, 256, 1, 1 };
            Assert.That(launch(stub, dims, args, 512, 0), Is.EqualTo(0));
            Assert.That(recorder.Loaded, Has.Count.EqualTo(1), "the fat binary's PTX is loaded at its first launch");
            Assert.That(recorder.Loaded[0].Origin, Does.Contain("fat binary #"));
            var (f, config, parameters) = recorder.Launches.Single();
            Assert.That(f.Name, Is.EqualTo("scale"));
            Assert.That(config, Is.EqualTo(new LaunchConfig(new Dim3(4, 1, 1), new Dim3(256, 1, 1), 512)));
            Assert.That((BitConverter.ToUInt64(parameters, 0), BitConverter.ToSingle(parameters, 8), BitConverter.ToUInt32(parameters, 12)), Is.EqualTo((x, a, n)));

            Assert.That(launch(stub, dims, args, 0, 0), Is.EqualTo(0));
            Assert.That(recorder.Loaded, Has.Count.EqualTo(1), "and kept");
            Assert.That(launch(stub + 8, dims, args, 0, 0), Is.EqualTo(98), "cudaErrorInvalidDeviceFunction for an unknown stub");
            Assert.That(EmuDevice.Shared.TakeLastDiagnostic(), Does.Contain("not the host stub of a registered kernel"));
            Assert.That(launch(stub, dims, args, 0, 0x4242), Is.EqualTo(400), "cudaErrorInvalidResourceHandle for a made-up stream");

            var setAttr = (delegate* unmanaged<nint, int, int, int>)HostTestSupport.RuntimeEntry("func_set_attribute");
            var getAttr = (delegate* unmanaged<int*, int, nint, int>)HostTestSupport.RuntimeEntry("func_get_attribute");
            int value;
            Assert.That(setAttr(stub, 8, 70_000), Is.EqualTo(0), "cudaFuncAttributeMaxDynamicSharedMemorySize");
            Assert.That(getAttr(&value, 8, stub) == 0 && value == 70_000, Is.True);
            Assert.That(setAttr(stub, 8, 1 << 20), Is.EqualTo(1));
            Assert.That(getAttr(&value, 0, stub) == 0 && value == 1024, Is.True, "max threads per block");

            recorder.LaunchFailure = new Zoetrope.Emulator.EmulatorException(Zoetrope.Emulator.EmuError.IllegalAddress, "kernel scale: CTA (1,0,0) thread (7,0,0): ld.global out of bounds at PTX line 12");
            Assert.That(launch(stub, dims, args, 0, 0), Is.EqualTo(700), "cudaErrorIllegalAddress");
            Assert.That(EmuDevice.Shared.TakeLastDiagnostic(), Does.Contain("cudaLaunchKernel: kernel scale: CTA (1,0,0) thread (7,0,0)"));
        });
    }

    [Test]
    public void CompressedFatBinariesAreRefusedAtRegistration()
    {
        var registerFatbin = (delegate* unmanaged<nint, nint, int>)HostTestSupport.RuntimeEntry("register_fatbin");
        Assert.That(registerFatbin((nint)0x5200_1000, (nint)FatBinaryWrapper(Ptx, 0x2011)), Is.EqualTo(200), "cudaErrorInvalidKernelImage");
        Assert.That(EmuDevice.Shared.TakeLastDiagnostic(), Does.Contain("-Xfatbin=-compress=false"));
    }

    [Test]
    public void MemoryAndDeviceCallbacks()
    {
        var malloc = (delegate* unmanaged<void**, nuint, int>)HostTestSupport.RuntimeEntry("malloc");
        var free = (delegate* unmanaged<void*, int>)HostTestSupport.RuntimeEntry("free");
        var memcpy = (delegate* unmanaged<void*, void*, nuint, int, nint, int>)HostTestSupport.RuntimeEntry("memcpy");
        var memset = (delegate* unmanaged<void*, int, nuint, nint, int>)HostTestSupport.RuntimeEntry("memset");
        var attribute = (delegate* unmanaged<int*, int, int, int>)HostTestSupport.RuntimeEntry("device_attribute");
        var synchronize = (delegate* unmanaged<nint, int>)HostTestSupport.RuntimeEntry("synchronize");
        void* d;
        Assert.That(malloc(&d, 64), Is.EqualTo(0));
        var host = new byte[64];
        fixed (byte* h = host)
        {
            Assert.That(memset(d, 0x5A, 64, 0), Is.EqualTo(0));
            Assert.That(memcpy(h, d, 64, 2, 0), Is.EqualTo(0), "cudaMemcpyDeviceToHost");
            Assert.That(host, Is.All.EqualTo(0x5A));
            Assert.That(memcpy(d, h, 64, 2, 0), Is.EqualTo(1), "DeviceToHost with a host source");
            Assert.That(memcpy(h, d, 65, 4, 0), Is.EqualTo(1), "past the allocation");
        }
        int value;
        Assert.That(attribute(&value, 75, 0) == 0 && value == 8, Is.True);
        Assert.That(attribute(&value, 75, 1), Is.EqualTo(101), "cudaErrorInvalidDevice");
        Assert.That(synchronize(0), Is.EqualTo(0));
        Assert.That(free(d), Is.EqualTo(0));
        Assert.That(free(d), Is.EqualTo(1));
        Assert.That(malloc(&d, 0) == 0 && d == null, Is.True, "cudaMalloc(0) gives null");
    }

    [Test]
    public void TheEmulatedLibrarysRegistrationsAreReplayedAndItsKernelsLaunchThroughTheirHostCode()
    {
        var path = HostTestSupport.NativeEmuLibrary();
        if (path is null)
        {
            Assert.Ignore("libzoetrope_native_emu.so is not built (cmake -S . -B build && cmake --build build --target zoetrope_native_emu, "
                + "on a machine with nvcc; or set ZOETROPE_NATIVE_EMU)");
        }
        var library = NativeLibrary.Load(path!);
        int fatbins, functions;
        ((delegate* unmanaged<int*, int*, int>)NativeLibrary.GetExport(library, "zt_emu_runtime_registered"))(&fatbins, &functions);
        Assert.That(fatbins, Is.GreaterThan(10), "one fat binary per kernel file, registered while the library loaded");
        Assert.That(functions, Is.GreaterThan(fatbins));
        EmuRuntime.Install(library);
        int once = EmuRuntime.KernelCount;
        EmuRuntime.Install(library);
        Assert.That(EmuRuntime.KernelCount, Is.EqualTo(once), "installing again registers nothing twice");
        var kernels = EmuRuntime.RegisteredKernels();
        Assert.That(kernels.Count(k => k.DeviceName.Contains("axpby", StringComparison.Ordinal)), Is.GreaterThanOrEqualTo(6),
            "axpby_vec16 and axpby_scalar for f32, f16, bf16");
        // A template kernel instantiated in several files has one host stub (the linker merges
        // the copies), registered once per file: fewer stubs than registrations.
        Assert.That(kernels.Select(k => k.Stub).Distinct().Count(), Is.EqualTo(kernels.Count).And.GreaterThan(functions / 2));

        var axpby = (delegate* unmanaged<nint, int, long, float, void*, float, void*, void*, int>)NativeLibrary.GetExport(library, "zt_axpby");
        var lastError = (delegate* unmanaged<byte*>)NativeLibrary.GetExport(library, "zt_last_error");
        var memory = EmuDevice.Shared.Memory;
        ulong x = memory.Allocate(4000), y = memory.Allocate(4000), o = memory.Allocate(4000);
        var recorder = new RecordingExecutor();
        HostTestSupport.WithExecutor(recorder, () =>
        {
            Assert.That(axpby(0, 0, 1000, 2f, (void*)x, 3f, (void*)y, (void*)o), Is.EqualTo(0), Marshal.PtrToStringUTF8((nint)lastError()));
            var (f, config, parameters) = recorder.Launches.Single();
            Assert.That(f.Name, Does.Contain("axpby_vec16").And.Contain("If"), "the f32 instance of the 16-byte-vector kernel (aligned pointers)");
            Assert.That(recorder.Loaded.Single().Origin, Does.Contain("axpby.cu"), "the origin names the source file (-lineinfo)");
            Assert.That(config.Block.Count * config.Grid.Count, Is.GreaterThan(0));
            Assert.That(BitConverter.ToInt64(parameters, 0), Is.EqualTo(1000));
            Assert.That(BitConverter.ToSingle(parameters, 8), Is.EqualTo(2f));
            Assert.That(BitConverter.ToUInt64(parameters, 16), Is.EqualTo(x));
            Assert.That(BitConverter.ToSingle(parameters, 24), Is.EqualTo(3f));
            Assert.That((BitConverter.ToUInt64(parameters, 32), BitConverter.ToUInt64(parameters, 40)), Is.EqualTo((y, o)));

            // A kernel fault: the launch's error is what cudaGetLastError returns after it.
            recorder.LaunchFailure = new Zoetrope.Emulator.EmulatorException(Zoetrope.Emulator.EmuError.MisalignedAddress, "kernel axpby: CTA (0,0,0) thread (1,0,0): misaligned ld.global.v4 at PTX line 40");
            Assert.That(axpby(0, 0, 1000, 2f, (void*)x, 3f, (void*)y, (void*)o), Is.EqualTo(4), "ZT_ERROR_CUDA");
            Assert.That(Marshal.PtrToStringUTF8((nint)lastError()), Does.Contain("cudaErrorMisalignedAddress"));
            Assert.That(EmuDevice.Shared.TakeLastDiagnostic(), Does.Contain("misaligned ld.global.v4 at PTX line 40"));
            recorder.LaunchFailure = null;
            Assert.That(axpby(0, 0, 1000, 2f, (void*)x, 3f, (void*)y, (void*)o), Is.EqualTo(0), "the error was cleared by reading it");
        });
        memory.Free(x);
        memory.Free(y);
        memory.Free(o);
    }
}
