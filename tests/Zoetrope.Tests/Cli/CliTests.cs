using NUnit.Framework;
using Zoetrope.Runtime;
using Zoetrope.Runtime.IO;

namespace Zoetrope.Tests.Cli;

/// <summary>The zoe verbs, run in-process: exit codes, files written, typed errors.</summary>
[NonParallelizable]
public class CliTests
{
    private TempDirectory _tmp = null!;

    private string _dir => _tmp.Path;

    [SetUp]
    public void SetUp() => _tmp = new TempDirectory("zt-cli");

    [TearDown]
    public void TearDown() => _tmp.Dispose();

    private static int Zoe(params string[] args) => Zoetrope.Cli.Program.Main(args);

    [Test]
    public void InfoSucceeds() => Assert.That(Zoe("info"), Is.Zero);

    [Test]
    public void CheckPassesOnTheCpuBackendsAndFailsTypedOnAMissingGpu()
    {
        Assert.That(Zoe("check", "--backend", "reference,ilgpu-cpu", "--op", "axpby"), Is.Zero);
        if (!Zoetrope.Runtime.Backends.Probe(BackendKind.Cuda).Available)
        {
            Assert.That(Zoe("check", "--backend", "cuda"), Is.EqualTo(2));
        }
        Assert.That(Zoe("check", "--op", "no_such_op"), Is.EqualTo(2));
    }

    [Test]
    public void PtxWritesOneFilePerKernel()
    {
        Assert.That(Zoe("ptx", "softmax", "--arch", "sm_90", "--out", _dir), Is.Zero);
        var files = Directory.GetFiles(_dir, "softmax.*.ptx");
        Assert.That(files, Has.Length.EqualTo(3));
        Assert.That(File.ReadAllText(files[0]), Does.Contain(".visible .entry"));
    }

    [Test]
    public void RunOpComputesWritesAndChecks()
    {
        string x = Path.Combine(_dir, "x.npy"), y = Path.Combine(_dir, "y.npy"), o = Path.Combine(_dir, "o.npy");
        using (var tx = Tensor.FromDoubles([1, 2, 3, 4, 5, 6], DType.F32, new Shape(2, 3), "x"))
        using (var ty = Tensor.FromDoubles([6, 5, 4, 3, 2, 1], DType.F32, new Shape(2, 3), "y"))
        {
            Npy.Write(x, tx);
            Npy.Write(y, ty);
        }
        int rc = Zoe("run-op", "axpby", "--in", $"x={x}", "--in", $"y={y}", "--attr", "a=2", "--attr", "b=-1", "--out", o, "--repeat", "3", "--check");
        Assert.That(rc, Is.Zero);
        using var result = Npy.Read(o);
        Assert.That(result.ToDoubles(), Is.EqualTo(new double[] { -4, -1, 2, 5, 8, 11 }));
    }

    [Test]
    public void RunOpReportsBadInputAsATypedError()
    {
        string bad = Path.Combine(_dir, "bad.npy");
        File.WriteAllBytes(bad, [0x93, (byte)'N', (byte)'U', 1, 2]);
        Assert.That(Zoe("run-op", "softmax", "--in", $"x={bad}"), Is.EqualTo(2));
        Assert.That(Zoe("run-op", "softmax", "--in", $"x={Path.Combine(_dir, "missing.npy")}"), Is.EqualTo(2));
        Assert.That(Zoe("run-op", "axpby", "--in", "x"), Is.EqualTo(2), "--in without name=file");
    }
}
