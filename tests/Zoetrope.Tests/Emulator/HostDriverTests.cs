using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Zoetrope.Emulator;
using Zoetrope.Emulator.Device;
using Zoetrope.Emulator.Host;

namespace Zoetrope.Tests.Emulator;

/// <summary>
/// The emulated CUDA driver through its exported entry points (libzoetrope_cuda_emu.so, which
/// the .NET build compiles and copies next to the tests; the C# implementations directly where
/// it is absent): the signature list, device queries, memory, errors, streams, events, modules
/// and launches. Launches go to a recording executor, so no interpreter is needed.
/// </summary>
[NonParallelizable]
public unsafe class HostDriverTests
{
    private const string Ptx = ".version 8.4\n.target sm_80\n.address_size 64\n\n.visible .entry k(\n\t.param .u64 k_p,\n\t.param .f32 k_a,\n\t.param .u32 k_n\n)\n{\n\tret;\n}\n";

    private static IntPtr _library;

    [OneTimeSetUp]
    public static void LoadDriverLibrary()
    {
        _library = HostTestSupport.TryLoad(Path.Combine(AppContext.BaseDirectory, "libzoetrope_cuda_emu.so"));
        if (_library != IntPtr.Zero)
        {
            EmuDriver.Install(_library);
        }
    }

    /// <summary>The entry point as a caller of the driver sees it: the library's export, or the C# implementation.</summary>
    private static nint Fn(string name) => _library != IntPtr.Zero ? NativeLibrary.GetExport(_library, name) : HostTestSupport.DriverEntry(name);

    [Test]
    public void EveryEntryPointOfTheDefinitionFileIsImplementedWithItsSignature()
    {
        var root = HostTestSupport.RepoRoot() ?? throw new IgnoreException("not run from a checkout: native/emu/driver_api.def is not above the test folder");
        var lines = File.ReadAllLines(Path.Combine(root, "native", "emu", "driver_api.def"))
            .Select(l => Regex.Match(l, @"^ZT_CU\((?<name>\w+), \((?<params>[^)]*)\), \((?<args>[^)]*)\)\)")).Where(m => m.Success).ToArray();
        Assert.That(lines, Has.Length.EqualTo(EmuDriver.Entries.Count), "one C# implementation per line of driver_api.def");
        foreach (var line in lines)
        {
            string name = line.Groups["name"].Value;
            var method = typeof(EmuDriver).GetMethod(name, BindingFlags.NonPublic | BindingFlags.Static);
            Assert.That(method, Is.Not.Null, $"{name} has no implementation in EmuDriver");
            Assert.That(method!.GetCustomAttribute<UnmanagedCallersOnlyAttribute>(), Is.Not.Null, name);
            CheckSignature(name, line.Groups["params"].Value, method!);
        }
        if (_library != IntPtr.Zero)
        {
            var exported = EmuDriver.LibraryNames(_library, "zt_emu_driver_entry_count", "zt_emu_driver_entry_name");
            Assert.That(exported, Is.EquivalentTo(lines.Select(l => l.Groups["name"].Value)));
        }
    }

    [Test]
    public void EveryDriverImportOfIlgpuAndOfOurBindingIsAnEntryPoint()
    {
        var ours = EmuDriver.Entries.Select(e => e.Name).ToHashSet();
        foreach (var assembly in new[] { typeof(ILGPU.Context).Assembly, typeof(Zoetrope.Runtime.Backend).Assembly })
        {
            using var file = File.OpenRead(assembly.Location);
            using var pe = new System.Reflection.PortableExecutable.PEReader(file);
            var md = System.Reflection.Metadata.PEReaderExtensions.GetMetadataReader(pe);
            var imports = md.MethodDefinitions.Select(h => md.GetMethodDefinition(h).GetImport())
                .Where(i => !i.Module.IsNil && md.GetString(md.GetModuleReference(i.Module).Name) is "cuda")
                .Select(i => md.GetString(i.Name)).Distinct().ToArray();
            Assert.That(imports, Is.Not.Empty, assembly.GetName().Name);
            Assert.That(imports.Where(i => !ours.Contains(i)), Is.Empty, $"{assembly.GetName().Name} imports these from \"cuda\"");
        }
    }

    [Test]
    public void EveryRuntimeCallbackIsImplementedWithItsSignature()
    {
        var root = HostTestSupport.RepoRoot() ?? throw new IgnoreException("not run from a checkout");
        var lines = File.ReadAllLines(Path.Combine(root, "native", "emu", "runtime_callbacks.def"))
            .Select(l => Regex.Match(l, @"^ZT_RT\((?<name>\w+), \((?<params>[^)]*)\), \((?<args>[^)]*)\)\)")).Where(m => m.Success).ToArray();
        Assert.That(lines.Select(l => l.Groups["name"].Value), Is.EquivalentTo(EmuRuntime.Entries.Select(e => e.Name)));
        foreach (var line in lines)
        {
            string name = "On" + string.Concat(line.Groups["name"].Value.Split('_').Select(w => char.ToUpperInvariant(w[0]) + w[1..]));
            var method = typeof(EmuRuntime).GetMethod(name, BindingFlags.NonPublic | BindingFlags.Static);
            Assert.That(method, Is.Not.Null, $"{line.Groups["name"].Value}: no {name} in EmuRuntime");
            CheckSignature(name, line.Groups["params"].Value, method!);
        }
    }

    private static void CheckSignature(string name, string cParams, MethodInfo method)
    {
        var c = cParams == "void" ? [] : cParams.Split(',').Select(p => p.Trim()).ToArray();
        var cs = method.GetParameters();
        Assert.That(cs, Has.Length.EqualTo(c.Length), $"{name}: ({cParams})");
        Assert.That(method.ReturnType, Is.EqualTo(typeof(int)), $"{name} returns a CUresult / cudaError_t");
        for (int i = 0; i < c.Length; i++)
        {
            string type = Regex.Replace(c[i], @"\s*\b\w+$", string.Empty).Replace("const ", string.Empty).Replace(" *", "*").Trim();
            var allowed = type switch
            {
                "unsigned int" => new[] { typeof(uint) },
                "int" => [typeof(int)],
                "unsigned char" => [typeof(byte)],
                "size_t" => [typeof(nuint)],
                "unsigned long long" => [typeof(ulong)],
                "void*" => [typeof(nint), typeof(void*), typeof(byte*)],
                "void**" => [typeof(nint*), typeof(void**)],
                "int*" => [typeof(int*)],
                "size_t*" => [typeof(nuint*)],
                "unsigned long long*" => [typeof(ulong*)],
                "unsigned int*" => [typeof(uint*)],
                "char*" => [typeof(byte*)],
                "char**" => [typeof(byte**)],
                "float*" => [typeof(float*)],
                _ => throw new AssertionException($"{name}: parameter type '{type}' has no C# mapping in this test"),
            };
            Assert.That(allowed, Does.Contain(cs[i].ParameterType), $"{name} parameter {i} ({c[i]}) is {cs[i].ParameterType} in C#");
        }
    }

    [Test]
    public void DeviceQueriesDescribeAnSm80PartWithDriver124()
    {
        Assert.That(((delegate* unmanaged<uint, int>)Fn("cuInit"))(0), Is.EqualTo(0));
        Assert.That(((delegate* unmanaged<uint, int>)Fn("cuInit"))(3), Is.EqualTo(CudaCodes.InvalidValue));
        int v;
        Assert.That(((delegate* unmanaged<int*, int>)Fn("cuDriverGetVersion"))(&v), Is.EqualTo(0));
        Assert.That(v, Is.EqualTo(12040));
        Assert.That(((delegate* unmanaged<int*, int>)Fn("cuDeviceGetCount"))(&v), Is.EqualTo(0));
        Assert.That(v, Is.EqualTo(1));
        Assert.That(((delegate* unmanaged<int*, int, int>)Fn("cuDeviceGet"))(&v, 1), Is.EqualTo(CudaCodes.InvalidDevice));
        var name = stackalloc byte[64];
        Assert.That(((delegate* unmanaged<byte*, int, int, int>)Fn("cuDeviceGetName"))(name, 64, 0), Is.EqualTo(0));
        Assert.That(Marshal.PtrToStringUTF8((nint)name), Is.EqualTo(EmuDevice.Shared.Properties.Name));
        nuint total;
        Assert.That(((delegate* unmanaged<nuint*, int, int>)Fn("cuDeviceTotalMem_v2"))(&total, 0), Is.EqualTo(0));
        Assert.That((long)total, Is.EqualTo(EmuDevice.Shared.Memory.Capacity));

        int Attr(int a)
        {
            int value;
            Assert.That(((delegate* unmanaged<int*, int, int, int>)Fn("cuDeviceGetAttribute"))(&value, a, 0), Is.EqualTo(0), $"attribute {a}");
            return value;
        }
        Assert.That((Attr(75), Attr(76)), Is.EqualTo((8, 0)), "compute capability 8.0");
        Assert.That(Attr(16), Is.EqualTo(108));
        Assert.That(Attr(10), Is.EqualTo(32));
        Assert.That(Attr(8), Is.EqualTo(48 * 1024));
        Assert.That(Attr(97), Is.EqualTo(163 * 1024));
        Assert.That(Attr(41), Is.EqualTo(1), "unified addressing: device pointers are host addresses");
        Assert.That(((delegate* unmanaged<int*, int, int, int>)Fn("cuDeviceGetAttribute"))(&v, 4242, 0), Is.EqualTo(CudaCodes.InvalidValue));
        Assert.That(EmuDevice.Shared.TakeLastDiagnostic(), Does.Contain("cuDeviceGetAttribute").And.Contain("4242"));
    }

    [Test]
    public void MemoryRoundTripsAndBadRangesAreInvalidValues()
    {
        nint ctx;
        Assert.That(((delegate* unmanaged<nint*, uint, int, int>)Fn("cuCtxCreate_v2"))(&ctx, 0, 0), Is.EqualTo(0));
        var alloc = (delegate* unmanaged<ulong*, nuint, int>)Fn("cuMemAlloc_v2");
        var free = (delegate* unmanaged<ulong, int>)Fn("cuMemFree_v2");
        var copy = (delegate* unmanaged<ulong, ulong, nuint, int>)Fn("cuMemcpy");
        var copyAsync = (delegate* unmanaged<ulong, ulong, nuint, nint, int>)Fn("cuMemcpyAsync");
        var fill = (delegate* unmanaged<ulong, byte, nuint, nint, int>)Fn("cuMemsetD8Async");
        nuint freeBefore, freeAfter, total;
        ((delegate* unmanaged<nuint*, nuint*, int>)Fn("cuMemGetInfo_v2"))(&freeBefore, &total);

        ulong d;
        Assert.That(alloc(&d, 1000), Is.EqualTo(0));
        Assert.That(d % 256, Is.EqualTo(0UL), "256-byte aligned, as cuMemAlloc");
        ((delegate* unmanaged<nuint*, nuint*, int>)Fn("cuMemGetInfo_v2"))(&freeAfter, &total);
        Assert.That((long)freeBefore - (long)freeAfter, Is.EqualTo(1000));

        var src = Enumerable.Range(0, 1000).Select(i => (byte)(i * 7)).ToArray();
        var back = new byte[1000];
        fixed (byte* s = src)
        fixed (byte* b = back)
        {
            Assert.That(copy(d, (ulong)s, 1000), Is.EqualTo(0), "host to device");
            Assert.That(fill(d + 10, 0xAB, 5, 0), Is.EqualTo(0));
            Assert.That(copyAsync((ulong)b, d, 1000, 0), Is.EqualTo(0), "device to host");
            var expected = (byte[])src.Clone();
            expected.AsSpan(10, 5).Fill(0xAB);
            Assert.That(back, Is.EqualTo(expected));

            Assert.That(copy(d + 900, (ulong)s, 200), Is.EqualTo(CudaCodes.InvalidValue), "100 bytes past the allocation");
            Assert.That(EmuDevice.Shared.TakeLastDiagnostic(), Does.Contain("runs past the end of its device allocation"));
            Assert.That(fill((ulong)b, 0, 10, 0), Is.EqualTo(CudaCodes.InvalidValue), "memset of host memory");
            Assert.That(copyAsync((ulong)b, d, 10, 0x7777), Is.EqualTo(CudaCodes.InvalidHandle), "a made-up stream");
        }

        uint type;
        var pointerAttribute = (delegate* unmanaged<void*, int, ulong, int>)Fn("cuPointerGetAttribute");
        Assert.That(pointerAttribute(&type, 2, d + 5), Is.EqualTo(0));
        Assert.That(type, Is.EqualTo(2u), "CU_MEMORYTYPE_DEVICE");
        fixed (byte* b = back)
        {
            Assert.That(pointerAttribute(&type, 2, (ulong)b), Is.EqualTo(CudaCodes.InvalidValue), "unregistered host memory is unknown, as ILGPU expects");
            Assert.That(((delegate* unmanaged<void*, nuint, uint, int>)Fn("cuMemHostRegister_v2"))(b, 1000, 1), Is.EqualTo(0));
            Assert.That(pointerAttribute(&type, 2, (ulong)b + 10), Is.EqualTo(0));
            Assert.That(type, Is.EqualTo(1u), "CU_MEMORYTYPE_HOST");
            ulong mapped;
            Assert.That(((delegate* unmanaged<ulong*, void*, uint, int>)Fn("cuMemHostGetDevicePointer_v2"))(&mapped, b, 0), Is.EqualTo(0));
            Assert.That(mapped, Is.EqualTo((ulong)b));
            Assert.That(((delegate* unmanaged<void*, int>)Fn("cuMemHostUnregister"))(b), Is.EqualTo(0));
            Assert.That(((delegate* unmanaged<void*, int>)Fn("cuMemHostUnregister"))(b), Is.EqualTo(CudaCodes.HostMemoryNotRegistered));
        }

        Assert.That(free(d), Is.EqualTo(0));
        Assert.That(free(d), Is.EqualTo(CudaCodes.InvalidValue), "a second free");
        Assert.That(free(0), Is.EqualTo(0), "freeing null succeeds");
        Assert.That(((delegate* unmanaged<nint, int>)Fn("cuCtxDestroy_v2"))(ctx), Is.EqualTo(0));
    }

    [Test]
    public void ErrorNamesAndTextsAndTheDiagnosticRidesOnTheText()
    {
        byte* s;
        var getName = (delegate* unmanaged<int, byte**, int>)Fn("cuGetErrorName");
        var getText = (delegate* unmanaged<int, byte**, int>)Fn("cuGetErrorString");
        Assert.That(getName(700, &s), Is.EqualTo(0));
        Assert.That(Marshal.PtrToStringUTF8((nint)s), Is.EqualTo("CUDA_ERROR_ILLEGAL_ADDRESS"));
        Assert.That(getName(218, &s), Is.EqualTo(0));
        Assert.That(Marshal.PtrToStringUTF8((nint)s), Is.EqualTo("CUDA_ERROR_INVALID_PTX"));
        Assert.That(getName(12345, &s), Is.EqualTo(CudaCodes.InvalidValue));

        ulong d;
        Assert.That(((delegate* unmanaged<ulong*, nuint, int>)Fn("cuMemAlloc_v2"))(&d, 0), Is.EqualTo(CudaCodes.InvalidValue));
        Assert.That(getText(CudaCodes.InvalidValue, &s), Is.EqualTo(0));
        Assert.That(Marshal.PtrToStringUTF8((nint)s), Is.EqualTo("invalid argument: cuMemAlloc_v2: cuMemAlloc: 0 bytes"),
            "ILGPU's CudaException is this text: it carries what failed");
        Assert.That(getText(CudaCodes.InvalidValue, &s), Is.EqualTo(0));
        Assert.That(Marshal.PtrToStringUTF8((nint)s), Is.EqualTo("invalid argument"), "reported once");
    }

    [Test]
    public void ErrorCodesFollowTheEmuErrorTable()
    {
        var expected = new Dictionary<EmuError, (int Driver, int Runtime)>
        {
            [EmuError.InvalidValue] = (1, 1),
            [EmuError.OutOfMemory] = (2, 2),
            [EmuError.InvalidConfiguration] = (1, 9),
            [EmuError.OutOfResources] = (701, 701),
            [EmuError.IllegalAddress] = (700, 700),
            [EmuError.MisalignedAddress] = (716, 716),
            [EmuError.LaunchFailed] = (719, 719),
            [EmuError.NotSupported] = (801, 801),
            [EmuError.IllegalInstruction] = (715, 715),
            [EmuError.NotFound] = (500, 98),
            [EmuError.InvalidPtx] = (218, 218),
        };
        Assert.That(expected.Keys, Is.EquivalentTo(Enum.GetValues<EmuError>().Where(e => e != EmuError.None)), "every EmuError is mapped");
        foreach (var (error, codes) in expected)
        {
            Assert.That((CudaCodes.Driver(error), CudaCodes.Runtime(error)), Is.EqualTo(codes), error.ToString());
            Assert.That(HostCalls.Codes(new EmulatorException(error, "x")), Is.EqualTo(codes), error.ToString());
            Assert.That(CudaCodes.DriverTexts, Does.ContainKey(codes.Driver), $"cuGetErrorName knows {codes.Driver}");
        }
        Assert.That(HostCalls.Codes(new InvalidOperationException("bug")), Is.EqualTo((999, 999)));
    }

    [Test]
    public void StreamsAndEventsAreSynchronousHandles()
    {
        nint stream, start, stop, untimed;
        Assert.That(((delegate* unmanaged<nint*, uint, int>)Fn("cuStreamCreate"))(&stream, 1), Is.EqualTo(0));
        Assert.That(((delegate* unmanaged<nint*, uint, int>)Fn("cuStreamCreate"))(&untimed, 9), Is.EqualTo(CudaCodes.InvalidValue));
        var create = (delegate* unmanaged<nint*, uint, int>)Fn("cuEventCreate");
        var record = (delegate* unmanaged<nint, nint, int>)Fn("cuEventRecord");
        var elapsed = (delegate* unmanaged<float*, nint, nint, int>)Fn("cuEventElapsedTime");
        Assert.That(create(&start, 0) | create(&stop, 0) | create(&untimed, 2), Is.EqualTo(0));
        float ms;
        Assert.That(elapsed(&ms, start, stop), Is.EqualTo(CudaCodes.InvalidHandle), "never recorded");
        Assert.That(record(start, stream), Is.EqualTo(0));
        Thread.Sleep(20);
        Assert.That(record(stop, stream), Is.EqualTo(0));
        Assert.That(((delegate* unmanaged<nint, int>)Fn("cuEventSynchronize"))(stop), Is.EqualTo(0));
        Assert.That(((delegate* unmanaged<nint, int>)Fn("cuEventQuery"))(stop), Is.EqualTo(0));
        Assert.That(elapsed(&ms, start, stop), Is.EqualTo(0));
        Assert.That(ms, Is.GreaterThanOrEqualTo(15f).And.LessThan(5000f), "host time between the records");
        Assert.That(record(untimed, 0), Is.EqualTo(0));
        Assert.That(elapsed(&ms, start, untimed), Is.EqualTo(CudaCodes.InvalidHandle), "CU_EVENT_DISABLE_TIMING");
        Assert.That(((delegate* unmanaged<nint, int>)Fn("cuStreamSynchronize"))(stream), Is.EqualTo(0));
        Assert.That(((delegate* unmanaged<nint, int>)Fn("cuStreamDestroy_v2"))(stream), Is.EqualTo(0));
        Assert.That(((delegate* unmanaged<nint, int>)Fn("cuStreamSynchronize"))(stream), Is.EqualTo(CudaCodes.InvalidHandle), "destroyed");
        Assert.That(record(start, stream), Is.EqualTo(CudaCodes.InvalidHandle));
        Assert.That(((delegate* unmanaged<nint, int>)Fn("cuEventDestroy_v2"))(start), Is.EqualTo(0));
        Assert.That(((delegate* unmanaged<nint, int>)Fn("cuEventDestroy_v2"))(start), Is.EqualTo(CudaCodes.InvalidHandle));
    }

    [Test]
    public void ModulesLoadPtxAndLaunchesReachTheDeviceWithGeometryAndParameters()
    {
        var recorder = new RecordingExecutor();
        HostTestSupport.WithExecutor(recorder, () =>
        {
            var load = (delegate* unmanaged<nint*, byte*, int>)Fn("cuModuleLoadData");
            var get = (delegate* unmanaged<nint*, nint, byte*, int>)Fn("cuModuleGetFunction");
            var launch = (delegate* unmanaged<nint, uint, uint, uint, uint, uint, uint, uint, nint, void**, void**, int>)Fn("cuLaunchKernel");
            nint module, f, again, missing;
            var ptx = System.Text.Encoding.UTF8.GetBytes(Ptx + "\0");
            fixed (byte* p = ptx)
            {
                Assert.That(load(&module, p), Is.EqualTo(0));
            }
            Assert.That(recorder.Loaded.Single().Ptx, Is.EqualTo(Ptx), "the PTX text reaches the device as given");
            Assert.That(recorder.Loaded.Single().Origin, Does.Contain(".entry k"));
            fixed (byte* n = "k\0"u8)
            fixed (byte* m = "nope\0"u8)
            {
                Assert.That(get(&f, module, n), Is.EqualTo(0));
                Assert.That(get(&again, module, n), Is.EqualTo(0));
                Assert.That(again, Is.EqualTo(f), "one CUfunction per kernel");
                Assert.That(get(&missing, module, m), Is.EqualTo(CudaCodes.NotFound));
            }

            ulong pointer = 0x1122334455667788;
            float a = 2.5f;
            uint count = 77;
            var args = stackalloc void*[] { &pointer, &a, &count };
            Assert.That(launch(f, 2, 3, 4, 32, 2, 1, 128, 0, args, null), Is.EqualTo(0));
            var (function, config, parameters) = recorder.Launches.Single();
            Assert.That(function.Name, Is.EqualTo("k"));
            Assert.That(config, Is.EqualTo(new LaunchConfig(new Dim3(2, 3, 4), new Dim3(32, 2, 1), 128)));
            Assert.That(BitConverter.ToUInt64(parameters, 0), Is.EqualTo(pointer));
            Assert.That(BitConverter.ToSingle(parameters, 8), Is.EqualTo(a));
            Assert.That(BitConverter.ToUInt32(parameters, 12), Is.EqualTo(count));

            // ILGPU's way: one packed buffer through `extra`.
            var buffer = parameters.ToArray();
            nuint size = (nuint)buffer.Length;
            fixed (byte* b = buffer)
            {
                var extra = stackalloc void*[] { (void*)1, b, (void*)2, &size, null };
                Assert.That(launch(f, 1, 1, 1, 64, 1, 1, 0, 0, null, extra), Is.EqualTo(0));
                Assert.That(recorder.Launches[^1].Parameters, Is.EqualTo(buffer));
                Assert.That(launch(f, 1, 1, 1, 64, 1, 1, 0, 0, args, extra), Is.EqualTo(CudaCodes.InvalidValue), "both kernelParams and extra");
                size = 4;
                Assert.That(launch(f, 1, 1, 1, 64, 1, 1, 0, 0, null, extra), Is.EqualTo(CudaCodes.InvalidValue), "a buffer shorter than the parameters");
            }
            Assert.That(launch(f, 1, 1, 1, 64, 1, 1, 0, 0x5555, args, null), Is.EqualTo(CudaCodes.InvalidHandle), "a made-up stream");
            Assert.That(launch(module, 1, 1, 1, 64, 1, 1, 0, 0, args, null), Is.EqualTo(CudaCodes.InvalidHandle), "a module is not a function");

            int value;
            var getAttr = (delegate* unmanaged<int*, int, nint, int>)Fn("cuFuncGetAttribute");
            var setAttr = (delegate* unmanaged<nint, int, int, int>)Fn("cuFuncSetAttribute");
            Assert.That(getAttr(&value, 8, f), Is.EqualTo(0));
            Assert.That(value, Is.EqualTo(48 * 1024), "48 KB of dynamic shared memory until the attribute raises it");
            Assert.That(setAttr(f, 8, 100_000), Is.EqualTo(0));
            Assert.That(getAttr(&value, 8, f) == 0 && value == 100_000, Is.True);
            Assert.That(setAttr(f, 8, 200_000), Is.EqualTo(CudaCodes.InvalidValue), "above the 163 KB opt-in limit");
            Assert.That(((delegate* unmanaged<int*, nint, int, nuint, int>)Fn("cuOccupancyMaxActiveBlocksPerMultiprocessor"))(&value, f, 256, 0), Is.EqualTo(0));
            Assert.That(value, Is.EqualTo(8), "2048 threads per SM / 256");
            int minGrid, block;
            Assert.That(((delegate* unmanaged<int*, int*, nint, nint, nuint, int, int>)Fn("cuOccupancyMaxPotentialBlockSize"))(&minGrid, &block, f, 0, 0, 0), Is.EqualTo(0));
            Assert.That((block, minGrid), Is.EqualTo((1024, 2 * 108)));

            Assert.That(((delegate* unmanaged<nint, int>)Fn("cuModuleUnload"))(module), Is.EqualTo(0));
            Assert.That(launch(f, 1, 1, 1, 64, 1, 1, 0, 0, args, null), Is.EqualTo(CudaCodes.InvalidHandle), "its module is unloaded");
        });
    }

    [Test]
    public void FatBinariesAndCubinsGivenToTheLoader()
    {
        var recorder = new RecordingExecutor();
        HostTestSupport.WithExecutor(recorder, () =>
        {
            var load = (delegate* unmanaged<nint*, byte*, int>)Fn("cuModuleLoadData");
            var image = HostTestSupport.FatBinaryImage((FatBinaryEntry.KindPtx, 80, 0x11, HostTestSupport.PtxPayload(Ptx)));
            nint module;
            fixed (byte* p = image)
            {
                Assert.That(load(&module, p), Is.EqualTo(0));
            }
            Assert.That(recorder.Loaded.Single().Ptx, Is.EqualTo(Ptx));
            fixed (byte* elf = new byte[] { 0x7F, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0 })
            {
                Assert.That(load(&module, elf), Is.EqualTo(CudaCodes.NotSupported));
            }
            Assert.That(EmuDevice.Shared.TakeLastDiagnostic(), Does.Contain("cubin"));
        });
    }

    [Test]
    public void JitErrorLogReceivesWhyPtxDidNotLoad()
    {
        var recorder = new RecordingExecutor { LoadFailure = new EmulatorException(EmuError.InvalidPtx, "module x line 3: unknown directive .frobnicate") };
        HostTestSupport.WithExecutor(recorder, () =>
        {
            var log = new byte[256];
            var options = stackalloc int[] { 5, 6 };
            nint module;
            fixed (byte* buffer = log)
            fixed (byte* ptx = "garbage\0"u8)
            {
                var values = stackalloc void*[] { buffer, (void*)256 };
                int status = ((delegate* unmanaged<nint*, byte*, uint, int*, void**, int>)Fn("cuModuleLoadDataEx"))(&module, ptx, 2, options, values);
                Assert.That(status, Is.EqualTo(CudaCodes.InvalidPtx));
                Assert.That(Marshal.PtrToStringUTF8((nint)buffer), Does.Contain("line 3: unknown directive .frobnicate"));
                Assert.That((nuint)values[1], Is.EqualTo((nuint)Marshal.PtrToStringUTF8((nint)buffer)!.Length), "the bytes used are written back");
            }
        });
    }

    [Test]
    public void LaunchFaultsBecomeTheirCudaErrorsAndTheDeviceValidatesGeometry()
    {
        var recorder = new RecordingExecutor();
        nint f = 0;
        HostTestSupport.WithExecutor(recorder, () =>
        {
            nint module, function;
            fixed (byte* p = System.Text.Encoding.UTF8.GetBytes(Ptx + "\0"))
            fixed (byte* n = "k\0"u8)
            {
                Assert.That(((delegate* unmanaged<nint*, byte*, int>)Fn("cuModuleLoadData"))(&module, p), Is.EqualTo(0));
                Assert.That(((delegate* unmanaged<nint*, nint, byte*, int>)Fn("cuModuleGetFunction"))(&function, module, n), Is.EqualTo(0));
            }
            f = function;
        });
        var launch = (delegate* unmanaged<nint, uint, uint, uint, uint, uint, uint, uint, nint, void**, void**, int>)Fn("cuLaunchKernel");
        ulong pointer = 0;
        float a = 0;
        uint count = 0;
        var args = stackalloc void*[] { &pointer, &a, &count };
        foreach (var (error, code) in new[]
        {
            (EmuError.IllegalAddress, 700), (EmuError.MisalignedAddress, 716), (EmuError.LaunchFailed, 719),
            (EmuError.NotSupported, 801), (EmuError.IllegalInstruction, 715), (EmuError.OutOfResources, 701),
        })
        {
            recorder.LaunchFailure = new EmulatorException(error, $"kernel k: CTA (0,0,0) thread (3,0,0): {error} at PTX line 9");
            HostTestSupport.WithExecutor(recorder, () => Assert.That(launch(f, 1, 1, 1, 32, 1, 1, 0, 0, args, null), Is.EqualTo(code), error.ToString()));
            Assert.That(EmuDevice.Shared.TakeLastDiagnostic(), Does.Contain("thread (3,0,0)").And.Contain("PTX line 9"));
        }

        // The device's own checks, before any instruction runs: too many threads, too much shared memory.
        Assert.That(launch(f, 1, 1, 1, 2048, 1, 1, 0, 0, args, null), Is.EqualTo(CudaCodes.InvalidValue));
        Assert.That(EmuDevice.Shared.TakeLastDiagnostic(), Does.Contain("not a valid configuration"));
        Assert.That(launch(f, 1, 1, 1, 32, 1, 1, 60_000, 0, args, null), Is.EqualTo(CudaCodes.LaunchOutOfResources));
        Assert.That(EmuDevice.Shared.TakeLastDiagnostic(), Does.Contain("dynamic shared memory"));
    }
}
