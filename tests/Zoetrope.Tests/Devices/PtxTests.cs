using NUnit.Framework;
using System.Diagnostics;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Tests.Devices;

/// <summary>Every ILGPU kernel of every op compiles to PTX with no GPU (what <c>zoe ptx</c> and CI use).</summary>
public class PtxTests
{
    public static IEnumerable<TestCaseData> Kernels() =>
        OpCatalog.All.SelectMany(op => op.Kernels.Select(k => new TestCaseData(op.Name, k.Label).SetName($"{op.Name} | {k.Label}")));

    [TestCaseSource(nameof(Kernels))]
    public void CompilesToPtx(string op, string label)
    {
        var kernel = OpCatalog.Get(op).Kernels.Single(k => k.Label == label);
        string ptx = PtxCompiler.Compile(kernel, "sm_90", "7.8");
        Assert.That(ptx, Does.Contain(".version 7.8").And.Contain(".visible .entry"));
        string? ptxas = ToolOnPath.Find("ptxas");
        if (ptxas is null)
        {
            return;
        }
        // Where CUDA's assembler is installed (CI installs it), the PTX must also assemble.
        string file = Path.Combine(Path.GetTempPath(), $"zt-{Guid.NewGuid():N}.ptx");
        File.WriteAllText(file, ptx);
        try
        {
            var psi = new ProcessStartInfo(ptxas, $"-arch=sm_80 \"{file}\" -o /dev/null") { RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            string err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.That(p.ExitCode, Is.Zero, err);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public void ArchitecturesAndIsasParse()
    {
        Assert.That(PtxCompiler.ParseArch("sm_90").Major, Is.EqualTo(9));
        Assert.That(PtxCompiler.ParseArch("89").Minor, Is.EqualTo(9));
        Assert.That(PtxCompiler.ParseArch("sm_100").Major, Is.EqualTo(10));
        Assert.Throws<ArgumentException>(() => PtxCompiler.ParseArch("hopper"));
        Assert.That(PtxCompiler.ParseIsa("7.8").Minor, Is.EqualTo(8));
        Assert.Throws<ArgumentException>(() => PtxCompiler.ParseIsa("78"));
    }
}
