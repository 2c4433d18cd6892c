using System.Text;
using NUnit.Framework;
using Zoetrope.Emulator.Host;

namespace Zoetrope.Tests.Emulator;

/// <summary>Reading PTX out of fat binaries: built in memory, and built by nvcc where it is installed.</summary>
public class HostFatBinaryTests
{
    private const string Ptx = ".version 8.4\n.target sm_80\n.address_size 64\n\n.visible .entry k(\n\t.param .u64 k_param_0\n)\n{\n\tret;\n}\n";

    [Test]
    public void InMemoryFatBinaryYieldsItsPtxAndPicksTheNewestArchNotAboveTheDevice()
    {
        var image = HostTestSupport.FatBinaryImage(
            (FatBinaryEntry.KindElf, 80, 0x11, new byte[48]),
            (FatBinaryEntry.KindPtx, 90, 0x11, HostTestSupport.PtxPayload(Ptx.Replace("sm_80", "sm_90"))),
            (FatBinaryEntry.KindPtx, 80, 0x11, HostTestSupport.PtxPayload(Ptx)),
            (FatBinaryEntry.KindPtx, 75, 0x11, HostTestSupport.PtxPayload(Ptx.Replace("sm_80", "sm_75"))));
        var entries = FatBinary.Parse(image);
        Assert.That(entries.Select(e => (e.Kind, e.Arch)), Is.EqualTo(new[] { (2, 80), (1, 90), (1, 80), (1, 75) }));
        Assert.That(entries[2].PtxVersion, Is.EqualTo(84));
        var ptx = FatBinary.SelectPtx(entries, 80, "test");
        Assert.That(ptx.Arch, Is.EqualTo(80), "compute_90 PTX cannot run on sm_80; compute_80 is newer than compute_75");
        Assert.That(FatBinary.PtxText(image, ptx), Is.EqualTo(Ptx), "the text ends at the padding's first NUL");
    }

    [Test]
    public void AnSm89DevicePicksTheCompute89PtxOfTheEmulatedLibrary()
    {
        // libzoetrope_native_emu.so carries compute_80 and compute_89 PTX; ZOETROPE_EMU_SM=89 makes
        // the device an sm_89 part, which runs the compute_89 text (the kernels' native fp8 paths).
        var image = HostTestSupport.FatBinaryImage(
            (FatBinaryEntry.KindPtx, 80, 0x11, HostTestSupport.PtxPayload(Ptx)),
            (FatBinaryEntry.KindPtx, 89, 0x11, HostTestSupport.PtxPayload(Ptx.Replace("sm_80", "sm_89"))));
        var entries = FatBinary.Parse(image);
        var sm89 = Zoetrope.Emulator.Device.DeviceProperties.Sm89;
        Assert.That(FatBinary.SelectPtx(entries, (sm89.Major * 10) + sm89.Minor, "lib").Arch, Is.EqualTo(89));
        Assert.That(FatBinary.SelectPtx(entries, 80, "lib").Arch, Is.EqualTo(80));
        Assert.That(sm89.SharedPerBlockOptIn, Is.EqualTo(99 * 1024), "Ada's opt-in limit, lower than sm_80's 163 KB: a kernel that needs more fails there as on a GPU");
    }

    [Test]
    public void AnSm90DevicePicksCompute90PtxAndFallsBackToCompute89()
    {
        var sm90 = Zoetrope.Emulator.Device.DeviceProperties.Sm90;
        int arch = (sm90.Major * 10) + sm90.Minor;
        var with90 = FatBinary.Parse(HostTestSupport.FatBinaryImage(
            (FatBinaryEntry.KindPtx, 80, 0x11, HostTestSupport.PtxPayload(Ptx)),
            (FatBinaryEntry.KindPtx, 89, 0x11, HostTestSupport.PtxPayload(Ptx.Replace("sm_80", "sm_89"))),
            (FatBinaryEntry.KindPtx, 90, 0x100011, HostTestSupport.PtxPayload(Ptx.Replace("sm_80", "sm_90a")))));
        // nvcc marks compute_90a with flag 0x100000 (arch 90): picked on sm_90, named with its 'a'.
        var picked = FatBinary.SelectPtx(with90, arch, "lib");
        Assert.That((picked.Arch, picked.IsArchSpecific, picked.ArchName), Is.EqualTo((90, true, "90a")));
        Assert.That(FatBinary.SelectPtx(with90, 89, "lib").Arch, Is.EqualTo(89));
        // An arch-specific entry runs on its own architecture only (sm_90a code is not for sm_100).
        Assert.That(FatBinary.SelectPtx(with90, 100, "lib").Arch, Is.EqualTo(89));
        var without90 = FatBinary.Parse(HostTestSupport.FatBinaryImage(
            (FatBinaryEntry.KindPtx, 80, 0x11, HostTestSupport.PtxPayload(Ptx)),
            (FatBinaryEntry.KindPtx, 89, 0x11, HostTestSupport.PtxPayload(Ptx.Replace("sm_80", "sm_89")))));
        Assert.That(FatBinary.SelectPtx(without90, arch, "lib").Arch, Is.EqualTo(89));
        Assert.That(DeviceAttributes.Get(sm90, 127), Is.EqualTo(1), "TENSOR_MAP_ACCESS_SUPPORTED on sm_90");
        Assert.That(DeviceAttributes.Get(sm90, 120), Is.EqualTo(1), "CLUSTER_LAUNCH on sm_90");
        Assert.That(DeviceAttributes.Get(Zoetrope.Emulator.Device.DeviceProperties.Sm89, 127), Is.Zero);
    }

    [Test]
    public void TheEmulatedArchitectureComesFromZoetropeEmuSm()
    {
        string? saved = Environment.GetEnvironmentVariable(Zoetrope.Emulator.Device.DeviceProperties.ArchVariable);
        try
        {
            Environment.SetEnvironmentVariable(Zoetrope.Emulator.Device.DeviceProperties.ArchVariable, null);
            Assert.That(Zoetrope.Emulator.Device.DeviceProperties.FromEnvironment().Minor, Is.Zero);
            Environment.SetEnvironmentVariable(Zoetrope.Emulator.Device.DeviceProperties.ArchVariable, "sm_89");
            Assert.That(Zoetrope.Emulator.Device.DeviceProperties.FromEnvironment().Name, Does.Contain("sm_89"));
            Environment.SetEnvironmentVariable(Zoetrope.Emulator.Device.DeviceProperties.ArchVariable, "90");
            var h100 = Zoetrope.Emulator.Device.DeviceProperties.FromEnvironment();
            Assert.That((h100.Major, h100.Minor, h100.MultiprocessorCount, h100.SharedPerBlockOptIn), Is.EqualTo((9, 0, 132, 232448)));
            // HBM3: clock x bus x 2 (DDR) / 8 bytes, about 3.35 TB/s.
            Assert.That(h100.MemoryClockKhz * 1000.0 * h100.MemoryBusWidth * 2 / 8 / 1e12, Is.EqualTo(3.35).Within(0.01));
            Environment.SetEnvironmentVariable(Zoetrope.Emulator.Device.DeviceProperties.ArchVariable, "100");
            var e = Assert.Throws<Zoetrope.Emulator.EmulatorException>(() => Zoetrope.Emulator.Device.DeviceProperties.FromEnvironment())!;
            Assert.That(e.Message, Does.Contain("ZOETROPE_EMU_SM=100").And.Contain("sm_80, sm_89, sm_90"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(Zoetrope.Emulator.Device.DeviceProperties.ArchVariable, saved);
        }
    }

    [Test]
    public void CompressedOrMissingPtxIsRefusedSayingHowToBuild()
    {
        var compressed = HostTestSupport.FatBinaryImage((FatBinaryEntry.KindPtx, 80, 0x2011, new byte[64]));
        var e = Assert.Throws<HostException>(() => FatBinary.SelectPtx(FatBinary.Parse(compressed), 80, "lib"))!;
        Assert.That(e.Message, Does.Contain("compressed").And.Contain("-Xfatbin=-compress=false"));
        Assert.That(e.DriverCode, Is.EqualTo(CudaCodes.InvalidImage));

        var sassOnly = HostTestSupport.FatBinaryImage((FatBinaryEntry.KindElf, 80, 0x11, new byte[64]));
        e = Assert.Throws<HostException>(() => FatBinary.SelectPtx(FatBinary.Parse(sassOnly), 80, "lib"))!;
        Assert.That(e.Message, Does.Contain("no PTX for compute_80").And.Contain("ELF sm_80"));

        var truncated = HostTestSupport.FatBinaryImage((FatBinaryEntry.KindPtx, 80, 0x11, new byte[64]))[..100];
        Assert.Throws<HostException>(() => FatBinary.Parse(truncated));
        Assert.Throws<HostException>(() => FatBinary.Parse(new byte[32]), "no magic");
    }

    [Test]
    public unsafe void WrapperLeadsToTheFatBinary()
    {
        var image = HostTestSupport.FatBinaryImage((FatBinaryEntry.KindPtx, 80, 0x11, HostTestSupport.PtxPayload(Ptx)));
        fixed (byte* data = image)
        {
            var wrapper = stackalloc ulong[3];
            ((uint*)wrapper)[0] = FatBinary.WrapperMagic;
            ((int*)wrapper)[1] = 1;
            wrapper[1] = (ulong)data;
            wrapper[2] = 0;
            Assert.That(FatBinary.FromWrapper(wrapper).Length, Is.EqualTo(image.Length));
            ((int*)wrapper)[1] = 2;
            var e = Assert.Throws<HostException>(() => FatBinary.FromWrapper(wrapper))!;
            Assert.That(e.Message, Does.Contain("-rdc"));
        }
    }

    [Test]
    public unsafe void PtxForAnotherArchitectureOnlyRegistersAndFailsItsLaunch()
    {
        // An sm_90a file's fat binary holds compute_90a PTX alone. A GPU's runtime registers it on
        // any device and fails only a launch of its kernels (cudaErrorNoKernelImageForDevice); so
        // must the emulated one, or an sm_80 part could not load a library with Hopper kernels.
        var props = HostState.Device.Properties;
        if (props.Major == 9)
        {
            Assert.Ignore("the process-wide emulated device is an sm_90 part here (ZOETROPE_EMU_SM=90)");
        }
        var hopperOnly = HostTestSupport.FatBinaryImage(
            (FatBinaryEntry.KindPtx, 90, 0x100011, HostTestSupport.PtxPayload(Ptx.Replace("sm_80", "sm_90a"))));
        var sassOnly = HostTestSupport.FatBinaryImage((FatBinaryEntry.KindElf, 80, 0x11, new byte[64]));
        fixed (byte* hopper = hopperOnly, sass = sassOnly)
        {
            var wrapper = stackalloc ulong[3];
            ((uint*)wrapper)[0] = FatBinary.WrapperMagic;
            ((int*)wrapper)[1] = 1;
            wrapper[1] = (ulong)hopper;
            wrapper[2] = 0;
            var registered = new RegisteredFatBinary(0x1234, (nint)wrapper, 7);
            Assert.That(registered.Ptx, Is.Null);
            var e = Assert.Throws<HostException>(() => registered.Module())!;
            Assert.That(e.DriverCode, Is.EqualTo(CudaCodes.NoBinaryForGpu));
            Assert.That(e.RuntimeCode, Is.EqualTo(209), "cudaErrorNoKernelImageForDevice");
            Assert.That(e.Message, Does.Contain($"fat binary #7 has no PTX the emulated sm_{props.Major}{props.Minor} part runs").And.Contain("compute_90a"));

            // A library with no PTX at all is a build mistake: refused when it registers.
            wrapper[1] = (ulong)sass;
            e = Assert.Throws<HostException>(() => _ = new RegisteredFatBinary(0x1235, (nint)wrapper, 8))!;
            Assert.That(e.Message, Does.Contain("no PTX for compute_"));
        }
    }

    [Test]
    public void SourceFileComesFromLineInfo()
    {
        Assert.That(FatBinary.SourceFile(Ptx + "\t.file\t1 \"/src/kernels/axpby.cu\"\n"), Is.EqualTo("/src/kernels/axpby.cu"));
        Assert.That(FatBinary.SourceFile(Ptx), Is.Null);
    }

    [Test]
    public void NvccFatBinariesParse()
    {
        var nvcc = HostTestSupport.Nvcc();
        if (nvcc is null)
        {
            Assert.Ignore("nvcc is not on the PATH nor in /opt/zoetrope/cuda-12.4 (.ci/install-cuda.sh): no real fat binary to read");
        }
        using var dir = new TempDirectory("zt-fatbin");
        File.WriteAllText(dir.File("k.cu"), "extern \"C\" __global__ void scale(float* x, float a, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) x[i] *= a; }\n");
        string Build(string name, string flags)
        {
            var (exit, output) = HostTestSupport.Run(nvcc!, $"-fatbin {flags} -o {dir.File(name)} {dir.File("k.cu")}");
            Assert.That(exit, Is.EqualTo(0), output);
            return dir.File(name);
        }

        // What CMake builds for libzoetrope_native_emu.so: compute_80 PTX, uncompressed.
        var plain = File.ReadAllBytes(Build("plain.fatbin", "-gencode arch=compute_80,code=compute_80 -Xfatbin=-compress=false"));
        var entries = FatBinary.Parse(plain);
        Assert.That(entries, Has.Count.EqualTo(1));
        Assert.That(entries[0].IsPtx && entries[0].Arch == 80 && !entries[0].IsCompressed, Is.True, entries[0].ToString());
        var text = FatBinary.PtxText(plain, FatBinary.SelectPtx(entries, 80, "plain"));
        Assert.That(text, Does.Contain(".target sm_80").And.Contain(".entry scale("));
        var module = HostTestSupport.ModuleFromSignatures(text, "plain");
        Assert.That(module.GetFunction("scale").ParameterBytes, Is.EqualTo(16), "x (8) + a (4) + n (4)");

        // fatbinary's default compresses: the emulator says what to do about it.
        var compressed = File.ReadAllBytes(Build("compressed.fatbin", "-gencode arch=compute_80,code=compute_80"));
        Assert.That(FatBinary.Parse(compressed).Single().IsCompressed, Is.True, "CUDA 12.4's fatbinary compresses by default");
        Assert.Throws<HostException>(() => FatBinary.SelectPtx(FatBinary.Parse(compressed), 80, "compressed"));

        // The real library's mix (SASS for three archs, PTX for two): compute_80's PTX is the one run.
        var mixed = File.ReadAllBytes(Build("mixed.fatbin",
            "-gencode arch=compute_80,code=sm_80 -gencode arch=compute_80,code=compute_80 -gencode arch=compute_90,code=compute_90 -Xfatbin=-compress=false"));
        var chosen = FatBinary.SelectPtx(FatBinary.Parse(mixed), 80, "mixed");
        Assert.That(chosen.Arch, Is.EqualTo(80));
        Assert.That(Encoding.UTF8.GetString(mixed), Does.Contain(".target sm_90"), "the compute_90 PTX is in there too");

        // What CMake builds for an sm_90a file in the emulated library: compute_90a PTX alone. The
        // entry must read as arch-specific (nvcc's flag), so it runs on sm_90 only, named "90a".
        var hopper = FatBinary.Parse(File.ReadAllBytes(Build("hopper.fatbin", "-gencode arch=compute_90a,code=compute_90a -Xfatbin=-compress=false")));
        Assert.That(hopper, Has.Count.EqualTo(1));
        Assert.That((hopper[0].IsPtx, hopper[0].Arch, hopper[0].IsArchSpecific, hopper[0].ArchName), Is.EqualTo((true, 90, true, "90a")), hopper[0].ToString());
        Assert.That(FatBinary.TrySelectPtx(hopper, 90, "hopper"), Is.Not.Null);
        Assert.That(FatBinary.TrySelectPtx(hopper, 89, "hopper"), Is.Null, "no PTX an sm_89 part runs");
        var portable = FatBinary.Parse(File.ReadAllBytes(Build("portable.fatbin", "-gencode arch=compute_90,code=compute_90 -Xfatbin=-compress=false")));
        Assert.That(portable.Single().IsArchSpecific, Is.False, "plain compute_90 is not arch-specific");
    }
}
