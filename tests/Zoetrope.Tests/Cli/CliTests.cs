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

    private static int Zoe(params string[] args) => Zoetrope.Tests.Cli.Zoe.Exit(args);

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
        Assert.That(Zoe("ptx", "softmax", "--arch", "sm_80", "--out", _dir), Is.Zero);
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

    private string Npy1(string name, DType dtype, Shape shape)
    {
        string path = Path.Combine(_dir, name + ".npy");
        using var t = Tensor.FromDoubles(Enumerable.Range(0, (int)shape.ElementCount).Select(i => (double)(i % 7)).ToArray(), dtype, shape, name);
        Npy.Write(path, t);
        return path;
    }

    [Test]
    public void OpsShowsEveryInputAttributeAndOutputOfAnOp()
    {
        var r = Zoetrope.Tests.Cli.Zoe.Run("ops", "attention");
        Assert.That(r.Exit, Is.Zero, r.ToString());
        foreach (var word in new[] { "q", "k", "v", "o", "lse", "optional", "layout", "mask", "none|causal|block_causal", "block_tokens", "window", "sinks", "scale", "1/sqrt(head dim)", "f16|bf16|f32", "--make-inputs" })
        {
            Assert.That(r.Out, Does.Contain(word), word);
        }
        var all = Zoetrope.Tests.Cli.Zoe.Run("ops");
        Assert.That(all.Exit, Is.Zero);
        Assert.That(all.Out, Does.Contain("attention").And.Contain("sage_attention").And.Contain("[lse]"));
        Assert.That(Zoetrope.Tests.Cli.Zoe.Run("ops", "no_such_op").Err, Does.Contain("unknown op 'no_such_op'"));
    }

    [Test]
    public void MakeInputsWritesACaseAndItsPrintedRunOpLinePasses()
    {
        // A block-causal case with a window, sinks and NHD: the printed line carries every attribute.
        var op = Zoetrope.Runtime.Ops.OpCatalog.Get("attention");
        int index = op.Cases().First(c => c.Label.Contains("w=", StringComparison.Ordinal) && c.Use.HasFlag(Zoetrope.Runtime.Ops.CaseUse.Check)).Index;
        var made = Zoetrope.Tests.Cli.Zoe.Run("run-op", "attention", "--make-inputs", _dir, "--case", index.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.That(made.Exit, Is.Zero, made.ToString());
        string line = made.Out.Split('\n').Single(l => l.StartsWith("zoe run-op attention", StringComparison.Ordinal)).Trim();
        Assert.That(line, Does.Contain("--attr mask=block_causal").And.Contain("--attr window="));
        var args = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Concat(["--backend", "reference", "--repeat", "1", "--warmup", "0"]).ToArray();
        var run = Zoetrope.Tests.Cli.Zoe.Run(args);
        Assert.That(run.Exit, Is.Zero, run.ToString());
        Assert.That(run.Out, Does.Contain("check o:").And.Contain("pass"));
        Assert.That(File.Exists(Path.Combine(_dir, "out_o.npy")));
    }

    [Test]
    public void RunOpRefusesAttributesAndInputsItWouldHaveIgnored()
    {
        string q = Npy1("q", DType.F32, new Shape(1, 2, 8, 64));
        var r = Zoetrope.Tests.Cli.Zoe.Run("run-op", "attention", "--in", $"q={q}", "--in", $"k={q}", "--in", $"v={q}", "--attr", "causal=true", "--check");
        Assert.That(r.Exit, Is.EqualTo(2), r.ToString());
        Assert.That(r.Err, Does.Contain("no attribute 'causal'; did you mean mask=causal?"));
        string x = Npy1("x", DType.F32, new Shape(2, 3)), y = Npy1("y", DType.F32, new Shape(2, 3));
        r = Zoetrope.Tests.Cli.Zoe.Run("run-op", "axpby", "--in", $"x={x}", "--in", $"y={y}", "--attr", "q=1");
        Assert.That(r.Exit, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain("no attribute 'q'"));
        r = Zoetrope.Tests.Cli.Zoe.Run("run-op", "axpby", "--in", $"x={x}", "--in", $"y={y}", "--in", $"z={y}");
        Assert.That(r.Exit, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain("no input 'z' (inputs: x, y)"));
        r = Zoetrope.Tests.Cli.Zoe.Run("run-op", "axpby", "--in", $"x={x}", "--in", $"y={y}", "--attr", "a=two");
        Assert.That(r.Err, Does.Contain("a=two: not a float"));
    }

    [Test]
    public void RunOpInputErrorsAreTypedAndBlameTheRightThing()
    {
        // A directory as an input: typed (exit 2), not an internal UnauthorizedAccessException (exit 3).
        var r = Zoetrope.Tests.Cli.Zoe.Run("run-op", "softmax", "--in", $"x={_dir}");
        Assert.That(r.Exit, Is.EqualTo(2), r.ToString());
        Assert.That(r.Err, Does.Contain("is a directory"));
        // x f64 with y f32: x is outside the contract and is the one named.
        string x64 = Npy1("x64", DType.F64, new Shape(4)), y = Npy1("y", DType.F32, new Shape(4));
        r = Zoetrope.Tests.Cli.Zoe.Run("run-op", "axpby", "--in", $"x={x64}", "--in", $"y={y}");
        Assert.That(r.Exit, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain("input 'x' is f64"));
        Assert.That(r.Err, Does.Not.Contain("'y'"));
        // A zero-size tensor: a typed error before any kernel (was ILGPU's "Invalid grid dimension").
        string empty = Npy1("empty", DType.F32, new Shape(0, 3));
        r = Zoetrope.Tests.Cli.Zoe.Run("run-op", "softmax", "--in", $"x={empty}");
        Assert.That(r.Exit, Is.EqualTo(2), r.ToString());
        Assert.That(r.Err, Does.Contain("input 'x' is empty"));
        // Every missing input at once.
        string q = Npy1("q", DType.F32, new Shape(1, 2, 8, 64));
        r = Zoetrope.Tests.Cli.Zoe.Run("run-op", "attention", "--in", $"q={q}");
        Assert.That(r.Err, Does.Contain("missing inputs: 'k'").And.Contain("; 'v' "));
        // --out into a missing folder is made ready before the work; --out onto a folder is refused before it.
        string x = Npy1("x", DType.F32, new Shape(2, 3));
        r = Zoetrope.Tests.Cli.Zoe.Run("run-op", "softmax", "--in", $"x={x}", "--out", _dir, "--repeat", "1", "--warmup", "0");
        Assert.That(r.Exit, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain("is a directory"));
        Assert.That(r.Out, Does.Not.Contain("median"), "refused before running");
        string nested = Path.Combine(_dir, "new", "deeper", "y.npy");
        r = Zoetrope.Tests.Cli.Zoe.Run("run-op", "softmax", "--in", $"x={x}", "--out", nested, "--repeat", "1", "--warmup", "0");
        Assert.That(r.Exit, Is.Zero, r.ToString());
        Assert.That(File.Exists(nested));
        r = Zoetrope.Tests.Cli.Zoe.Run("run-op", "softmax", "--in", $"x={x}", "--warmup", "-1");
        Assert.That(r.Err, Does.Contain("--warmup -1: must be 0 or more"));
    }

    [Test]
    public void UsageErrorsExitTwoWithOneUsageLineAndNoDotNetSuffixes()
    {
        var r = Zoetrope.Tests.Cli.Zoe.Run("run-op");
        Assert.That(r.Exit, Is.EqualTo(2), r.ToString());
        Assert.That(r.Err, Does.Contain("error:").And.Contain("usage: zoe run-op <op> [options]"));
        Assert.That(r.Out + r.Err, Does.Not.Contain("Options:"), "no help dump");
        r = Zoetrope.Tests.Cli.Zoe.Run("stream", "--blocks", "many");
        Assert.That(r.Exit, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain("many"));
        r = Zoetrope.Tests.Cli.Zoe.Run("no-such-verb");
        Assert.That(r.Exit, Is.EqualTo(2));
        // Typed errors from the library carry no "(Parameter 'x')" or "Actual value was" suffix.
        string x = Npy1("x", DType.F32, new Shape(2, 3));
        r = Zoetrope.Tests.Cli.Zoe.Run("run-op", "softmax", "--in", $"x={x}", "--in", $"x={x}");
        Assert.That(r.Exit, Is.EqualTo(2));
        Assert.That(r.Err, Does.Not.Contain("(Parameter").And.Not.Contain("Actual value was"));
        foreach (var line in r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            Assert.That(line.StartsWith("error:", StringComparison.Ordinal) || line.StartsWith("usage:", StringComparison.Ordinal), line);
        }
    }

    [Test]
    public void AnExpectedFailurePrintsNothingIntoTheTestLog()
    {
        // Every CLI test runs zoe through Zoe.Run: an expected error is captured for the assertions
        // instead of landing in dotnet test's output as an "error:" block on a green run.
        var outer = Console.Error;
        using var log = new StringWriter();
        Console.SetError(log);
        try
        {
            var r = Zoetrope.Tests.Cli.Zoe.Run("run-op", "no_such_op");
            Assert.That(r.Exit, Is.EqualTo(2));
            Assert.That(r.Err, Does.StartWith("error: unknown op 'no_such_op'"));
        }
        finally
        {
            Console.SetError(outer);
        }
        Assert.That(log.ToString(), Is.Empty);
    }
}
