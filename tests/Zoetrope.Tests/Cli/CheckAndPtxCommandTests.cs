using System.Reflection;
using System.Text.RegularExpressions;
using ILGPU.Runtime.Cuda;
using NUnit.Framework;

namespace Zoetrope.Tests.Cli;

/// <summary>
/// <c>zoe ptx</c> and <c>zoe check</c> as a user meets them (issue 16, findings 5 and 6): the
/// emitted <c>.target</c> is the architecture asked for or the request is refused naming ILGPU's
/// cap; <c>check --backend reference</c> says the reference is the oracle instead of printing an
/// empty table; output folders are checked before any work.
/// </summary>
[NonParallelizable]
public partial class CheckAndPtxCommandTests
{
    private TempDirectory _tmp = null!;

    [SetUp]
    public void SetUp() => _tmp = new TempDirectory("zt-cli-ptx");

    [TearDown]
    public void TearDown() => _tmp.Dispose();

    /// <summary>Every architecture ILGPU 1.5.3 names (its CudaArchitecture.SM_xx), the ones a user might pass.</summary>
    public static IEnumerable<string> IlgpuArchitectures() =>
        typeof(CudaArchitecture).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.FieldType == typeof(CudaArchitecture))
            .Select(f => (CudaArchitecture)f.GetValue(null)!)
            .Where(a => a.Major >= 7)
            .OrderBy(a => a)
            .Select(a => $"sm_{a.Major}{a.Minor}");

    // Finding 5: the header ILGPU writes is the arch asked for, or the request is refused with
    // the cap; never PTX for another arch under a banner naming the request.
    [TestCaseSource(nameof(IlgpuArchitectures))]
    public void PtxEmitsTheRequestedTargetOrRefusesNamingTheCap(string arch)
    {
        var run = Zoe.Run("ptx", "axpby", "--arch", arch);
        if (run.Exit == 0)
        {
            var targets = TargetLine().Matches(run.Out).Select(m => m.Groups[1].Value).Distinct().ToArray();
            Assert.That(targets, Is.EqualTo(new[] { arch }), run.ToString());
            foreach (var banner in run.Out.Split('\n').Where(l => l.StartsWith("// ----", StringComparison.Ordinal)))
            {
                Assert.That(banner, Does.Contain($".target {arch}"), "the banner says what was emitted");
            }
        }
        else
        {
            Assert.That(run.Exit, Is.EqualTo(2), run.ToString());
            Assert.That(Flat(run.Err), Does.Contain($"--arch {arch}").And.Contain("sm_80").And.Contain("accepted"), run.ToString());
            Assert.That(run.Out, Does.Not.Contain(".target"), "nothing is compiled for a refused arch");
        }
    }

    [Test]
    public void PtxHonoursSm80TheArchCiAssembles()
    {
        // .ci/run: `zoe ptx all --arch sm_80 --out DIR`, then ptxas for sm_80, sm_89 and sm_90.
        var run = Zoe.Run("ptx", "softmax", "--arch", "sm_80");
        Assert.That(run.Exit, Is.Zero, run.ToString());
        Assert.That(TargetLine().Matches(run.Out).Select(m => m.Groups[1].Value).Distinct(), Is.EqualTo(new[] { "sm_80" }));
        Assert.That(run.Out, Does.Contain("// ---- softmax:").And.Contain(".target sm_80, PTX ISA 7.8"));
    }

    [Test]
    public void PtxByDefaultEmitsWhatItsBannerSays()
    {
        var run = Zoe.Run("ptx", "axpby");
        Assert.That(run.Exit, Is.Zero, run.ToString());
        string target = TargetLine().Match(run.Out).Groups[1].Value;
        Assert.That(run.Out.Split('\n').First(l => l.StartsWith("// ----", StringComparison.Ordinal)), Does.Contain($".target {target},"));
    }

    [TestCase("sm_90", "targets at most sm_80")]
    [TestCase("sm_89", "targets at most sm_80")]
    [TestCase("sm_100", "targets at most sm_80")]
    [TestCase("sm_90a", "arch-specific")]
    [TestCase("sm_75", "sm_80")]
    public void PtxRefusesAnArchIlgpuCannotTarget(string arch, string reason)
    {
        var run = Zoe.Run("ptx", "axpby", "--arch", arch);
        Assert.That(run.Exit, Is.EqualTo(2), run.ToString());
        Assert.That(Flat(run.Err), Does.StartWith("error: --arch " + arch).And.Contain(reason).And.Contain("accepted: sm_80"), run.ToString());
        Assert.That(Flat(run.Err), Does.Not.Contain("(Parameter"), run.ToString());
    }

    [TestCase("9.9")]
    [TestCase("6.5")]
    [TestCase("78")]
    public void PtxRefusesAnIsaItCannotWriteListingTheAcceptedOnes(string isa)
    {
        var run = Zoe.Run("ptx", "axpby", "--arch", "sm_80", "--isa", isa);
        Assert.That(run.Exit, Is.EqualTo(2), run.ToString());
        Assert.That(Flat(run.Err), Does.StartWith("error: --isa " + isa).And.Contain("accepted").And.Contain("7.0").And.Contain("7.8"), run.ToString());
        Assert.That(run.Out, Does.Not.Contain(".version"), run.ToString());
    }

    [Test]
    public void PtxWritesTheIsaAskedFor()
    {
        var run = Zoe.Run("ptx", "axpby", "--arch", "sm_80", "--isa", "8.0");
        Assert.That(run.Exit, Is.Zero, run.ToString());
        Assert.That(run.Out, Does.Contain(".version 8.0\n").And.Contain("PTX ISA 8.0)"));
    }

    [Test]
    public void PtxOutIntoAFileIsRefusedBeforeAnyCompile()
    {
        string file = _tmp.File("not-a-folder");
        File.WriteAllText(file, "x");
        var run = Zoe.Run("ptx", "softmax", "--arch", "sm_80", "--out", file);
        Assert.That(run.Exit, Is.EqualTo(2), run.ToString());
        Assert.That(Flat(run.Err), Does.Contain($"--out {file}: is a file; expected a folder"), run.ToString());
        Assert.That(run.Out, Is.Empty);
    }

    [Test]
    public void PtxOutCreatesAMissingFolderAndTheBannerGoesToStderr()
    {
        string dir = Path.Combine(_tmp.Path, "a", "b");
        var run = Zoe.Run("ptx", "softmax", "--arch", "sm_80", "--out", dir);
        Assert.That(run.Exit, Is.Zero, run.ToString());
        var files = Directory.GetFiles(dir, "softmax.*.ptx");
        Assert.That(files, Is.Not.Empty);
        Assert.That(files.Select(File.ReadAllText), Has.All.Contain(".target sm_80"));
        Assert.That(Flat(run.Err), Does.Contain("for .target sm_80, PTX ISA 7.8"), run.ToString());
    }

    // Finding 6: the reference is the oracle; alone it is a usage error that says so.
    [Test]
    public void CheckOnTheReferenceAloneExplainsTheOracle()
    {
        var run = Zoe.Run("check", "--backend", "reference", "--op", "axpby");
        Assert.That(run.Exit, Is.EqualTo(2), run.ToString());
        Assert.That(Flat(run.Err), Does.Contain("oracle").And.Contain("ONNX Runtime").And.Contain("ilgpu-cpu"), run.ToString());
        Assert.That(run.Out, Does.Not.Contain("0 passed"), "no empty table");
    }

    [Test]
    public void CheckWithTheReferenceAmongOthersNotesItIsSkipped()
    {
        var run = Zoe.Run("check", "--backend", "reference,ilgpu-cpu", "--op", "axpby");
        Assert.That(run.Exit, Is.Zero, run.ToString());
        Assert.That(run.Out, Does.Contain("note: reference").And.Contain("oracle").And.Contain("ONNX Runtime"), run.ToString());
        Assert.That(run.Out, Does.Contain("ilgpu-cpu").And.Contain(" passed, 0 failed"));
    }

    [Test]
    public void CheckWithAnUnknownBackendListsTheValidOnes()
    {
        var run = Zoe.Run("check", "--backend", "ilgpu-cpu,gpu", "--op", "axpby");
        Assert.That(run.Exit, Is.EqualTo(2), run.ToString());
        Assert.That(Flat(run.Err), Does.Contain("unknown backend 'gpu'").And.Contain("reference, ilgpu-cpu, ilgpu-cuda, cuda, ilgpu-emu, cuda-emu"), run.ToString());
    }

    [Test]
    public void CheckWithNoBackendNamedIsAUsageError()
    {
        var run = Zoe.Run("check", "--backend", ",", "--op", "axpby");
        Assert.That(run.Exit, Is.EqualTo(2), run.ToString());
        Assert.That(Flat(run.Err), Does.Contain("--backend").And.Contain("ilgpu-cpu"), run.ToString());
    }

    [Test]
    public void CheckWithAnUnknownOpListsTheKnownOnes()
    {
        var run = Zoe.Run("check", "--backend", "ilgpu-cpu", "--op", "axpby,softmx");
        Assert.That(run.Exit, Is.EqualTo(2), run.ToString());
        Assert.That(Flat(run.Err), Does.Contain("unknown op 'softmx'").And.Contain("softmax").And.Contain("axpby"), run.ToString());
        Assert.That(run.Out, Does.Not.Contain("passed"), "nothing ran");
    }

    [Test]
    public void CheckSaveOutputsIntoAFileIsRefusedBeforeAnyWork()
    {
        string file = _tmp.File("not-a-folder");
        File.WriteAllText(file, "x");
        var run = Zoe.Run("check", "--backend", "ilgpu-cpu", "--op", "axpby", "--save-outputs", file);
        Assert.That(run.Exit, Is.EqualTo(2), run.ToString());
        Assert.That(Flat(run.Err), Does.Contain($"--save-outputs {file}: is a file; expected a folder"), run.ToString());
        Assert.That(run.Out, Does.Not.Contain("passed"), "nothing ran");
    }

    // Spectre wraps stderr at the console width when it is not a terminal; compare words, not lines.
    private static string Flat(string text) => Spaces().Replace(text, " ");

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();

    [GeneratedRegex(@"^\.target (\S+)", RegexOptions.Multiline)]
    private static partial Regex TargetLine();
}
