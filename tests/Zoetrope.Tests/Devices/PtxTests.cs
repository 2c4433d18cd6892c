using NUnit.Framework;
using System.Diagnostics;
using System.Text.RegularExpressions;
using ILGPU.Runtime.Cuda;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Tests.Devices;

/// <summary>Every ILGPU kernel of every op compiles to PTX with no GPU (what <c>zoe ptx</c> and CI use).</summary>
public partial class PtxTests
{
    public static IEnumerable<TestCaseData> Kernels() =>
        OpCatalog.All.SelectMany(op => op.Kernels.Select(k => new TestCaseData(op.Name, k.Label).SetName($"{op.Name} | {k.Label}")));

    [TestCaseSource(nameof(Kernels))]
    public void CompilesToPtx(string op, string label)
    {
        var kernel = OpCatalog.Get(op).Kernels.Single(k => k.Label == label);
        string ptx = PtxCompiler.Compile(kernel, "sm_80", "7.8");
        Assert.That(ptx, Does.Contain(".version 7.8\n").And.Contain(".target sm_80\n").And.Contain(".visible .entry"));
        // Where CUDA's assembler is installed (CI installs it), the PTX must also assemble.
        Assemble(ptx, "sm_80");
    }

    [Test]
    public void ArchitecturesAndIsasParse()
    {
        Assert.That(PtxCompiler.ParseArch("sm_90").Major, Is.EqualTo(9));
        Assert.That(PtxCompiler.ParseArch("89").Minor, Is.EqualTo(9));
        Assert.That(PtxCompiler.ParseArch("sm_100").Major, Is.EqualTo(10));
        Assert.Throws<ArgumentException>(() => PtxCompiler.ParseArch("hopper"));
        // Dropping the suffix would make sm_90a into sm_90 without a word.
        Assert.Throws<ArgumentException>(() => PtxCompiler.ParseArch("sm_90a"));
        Assert.That(PtxCompiler.ParseIsa("7.8").Minor, Is.EqualTo(8));
        Assert.Throws<ArgumentException>(() => PtxCompiler.ParseIsa("78"));
    }

    [Test]
    public void TheCapIsWhatIlgpuWritesForItsNewestArchitecture()
    {
        // ILGPU 1.5.3 writes .target min(arch, sm_80); a newer ILGPU that raises it moves the
        // cap, and this test, not a user, is the first to see it.
        Assert.That(PtxCompiler.KnownArchitectures, Does.Contain(CudaArchitecture.SM_90).And.Contain(CudaArchitecture.SM_100));
        Assert.That(PtxCompiler.Cap, Is.EqualTo(CudaArchitecture.SM_80));
        Assert.That(PtxCompiler.Architectures, Is.EqualTo(new[] { CudaArchitecture.SM_80 }));
        Assert.That(PtxCompiler.InstructionSetsFor(CudaArchitecture.SM_80), Does.Contain(CudaInstructionSet.ISA_70).And.Contain(CudaInstructionSet.ISA_78)
            .And.Not.Contain(CudaInstructionSet.ISA_65));
    }

    [Test]
    public void EveryAcceptedArchitectureAndIsaIsWhatTheHeaderSays()
    {
        var kernel = OpCatalog.Get("axpby").Kernels[0];
        foreach (var arch in PtxCompiler.Architectures)
        {
            foreach (var isa in PtxCompiler.InstructionSetsFor(arch))
            {
                string ptx = PtxCompiler.Compile(kernel, PtxCompiler.Name(arch), PtxCompiler.Name(isa));
                Assert.That(Header().Match(ptx).Groups.Cast<Group>().Skip(1).Select(g => g.Value),
                    Is.EqualTo(new[] { PtxCompiler.Name(isa), PtxCompiler.Name(arch) }), $"{PtxCompiler.Name(arch)}, ISA {PtxCompiler.Name(isa)}");
            }
        }
    }

    [TestCase("sm_86")]
    [TestCase("sm_89")]
    [TestCase("sm_90")]
    [TestCase("sm_100")]
    [TestCase("sm_120")]
    public void AnArchitectureAboveTheCapIsRefusedNamingIt(string arch)
    {
        var e = Assert.Throws<ArgumentException>(() => PtxCompiler.Resolve(arch, "7.8"))!;
        Assert.That(e.Message, Does.StartWith($"--arch {arch}: ILGPU 1.5.3's PTX backend targets at most sm_80").And.EndWith("accepted: sm_80"));
    }

    [Test]
    public void AnArchSpecificTargetIsRefusedWithTheReason()
    {
        var e = Assert.Throws<ArgumentException>(() => PtxCompiler.Resolve("sm_90a", "7.8"))!;
        Assert.That(e.Message, Does.Contain("arch-specific").And.Contain("at most sm_80").And.EndWith("accepted: sm_80"));
    }

    [TestCase("6.5", "predates sm_80")]
    [TestCase("9.0", "not a PTX ISA version ILGPU")]
    [TestCase("7", "not a PTX ISA version of the form 7.8")]
    public void AnIsaThatCannotCarryTheTargetIsRefusedListingTheAcceptedOnes(string isa, string reason)
    {
        var e = Assert.Throws<ArgumentException>(() => PtxCompiler.Resolve("sm_80", isa))!;
        Assert.That(e.Message, Does.StartWith($"--isa {isa}: ").And.Contain(reason).And.Contain("accepted for sm_80: 7.0, 7.1").And.Contain("7.8"));
    }

    [Test]
    public void TheSm80PtxAssemblesForEveryArchitectureCiChecks()
    {
        // .ci/cuda_report.py assembles `zoe ptx all --arch sm_80` with ptxas for sm_80, sm_89 and
        // sm_90: the newer GPUs take the capped PTX as it is.
        string ptx = PtxCompiler.Compile(OpCatalog.Get("softmax").Kernels[0], "sm_80", "7.8");
        if (ToolOnPath.Find("ptxas") is null)
        {
            Assert.Ignore("ptxas is not on PATH");
        }
        foreach (string arch in new[] { "sm_80", "sm_89", "sm_90" })
        {
            Assemble(ptx, arch);
        }
    }

    private static void Assemble(string ptx, string arch)
    {
        string? ptxas = ToolOnPath.Find("ptxas");
        if (ptxas is null)
        {
            return;
        }
        string file = Path.Combine(Path.GetTempPath(), $"zt-{Guid.NewGuid():N}.ptx");
        File.WriteAllText(file, ptx);
        try
        {
            var psi = new ProcessStartInfo(ptxas, $"-arch={arch} \"{file}\" -o /dev/null") { RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            string err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.That(p.ExitCode, Is.Zero, $"ptxas -arch={arch}: {err}");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [GeneratedRegex(@"^\.version (\S+)\n\.target (\S+)$", RegexOptions.Multiline)]
    private static partial Regex Header();
}
