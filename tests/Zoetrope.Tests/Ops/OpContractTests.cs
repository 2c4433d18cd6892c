using NUnit.Framework;
using Zoetrope.Attention;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Elementwise;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Tests.Ops;

/// <summary>The typed API of ops: validation messages, dispatch, binding, the catalog.</summary>
public class OpContractTests
{
    [Test]
    public void WrongDtypeNamesTheTensorAndBothDtypes()
    {
        using var x = Tensor.FromDoubles([1, 2, 3], DType.F32, new Shape(3), "x");
        using var y = Tensor.FromDoubles([1, 2, 3], DType.BF16, new Shape(3), "y");
        using var o = Backends.Host.Allocate(DType.F32, new Shape(3), "out");
        var e = Assert.Throws<ArgumentException>(() => Axpby.Run(1, x, 1, y, o))!;
        Assert.That(e.Message, Does.Contain("'y'").And.Contain("f32").And.Contain("bf16"));
    }

    [Test]
    public void WrongShapeNamesTheTensorAndBothShapes()
    {
        using var x = Tensor.FromDoubles(new double[6], DType.F32, new Shape(2, 3), "x");
        using var y = Backends.Host.Allocate(DType.F32, new Shape(3, 2), "y");
        var e = Assert.Throws<ArgumentException>(() => Softmax.Run(x, y))!;
        Assert.That(e.Message, Does.Contain("'y'").And.Contain("[2, 3]").And.Contain("[3, 2]"));
    }

    [Test]
    public void TensorOnAnotherBackendIsRejectedBeforeLaunch()
    {
        var cpu = Backends.Get(BackendKind.IlgpuCpu);
        using var x = Tensor.FromDoubles([1, 2], DType.F32, new Shape(1, 2), "x");
        using var y = cpu.Allocate(DType.F32, new Shape(1, 2), "y");
        var e = Assert.Throws<ArgumentException>(() => Softmax.Run(x, y))!;
        Assert.That(e.Message, Does.Contain("'y'").And.Contain("ilgpu-cpu").And.Contain("reference"));
    }

    [Test]
    public void TypedApiRunsOnTheTensorsBackend()
    {
        var cpu = Backends.Get(BackendKind.IlgpuCpu);
        using var hx = Tensor.FromDoubles([0, 1, 2, 3, -1, 5], DType.F32, new Shape(2, 3), "x");
        using var x = hx.To(cpu);
        using var y = cpu.Allocate(DType.F32, new Shape(2, 3), "y");
        Softmax.Run(x, y);
        var v = y.ToDoubles();
        Assert.That(v[0] + v[1] + v[2], Is.EqualTo(1).Within(1e-6));
        Assert.That(v[5], Is.EqualTo(Math.Exp(5) / (Math.Exp(3) + Math.Exp(-1) + Math.Exp(5))).Within(1e-6));
    }

    [Test]
    public void BindRecoversParametersFromInputsAndAttributes()
    {
        using var x = Tensor.FromDoubles(new double[8], DType.F16, new Shape(2, 4), "x");
        var inst = OpCatalog.Get("axpby").Bind(new OpBinding("axpby",
            new Dictionary<string, Tensor> { ["x"] = x, ["y"] = x },
            new Dictionary<string, string> { ["a"] = "2.5", ["b"] = "-1" }));
        Assert.That(inst.Label, Is.EqualTo("f16 [2, 4] a=2.5 b=-1"));
        var bad = Assert.Throws<ArgumentException>(() => OpCatalog.Get("axpby").Bind(new OpBinding("axpby",
            new Dictionary<string, Tensor> { ["x"] = x }, new Dictionary<string, string> { ["a"] = "two" })))!;
        Assert.That(bad.Message, Does.Contain("a=two"));
        var missing = Assert.Throws<ArgumentException>(() => OpCatalog.Get("softmax").Bind(new OpBinding("softmax",
            new Dictionary<string, Tensor>(), new Dictionary<string, string>())))!;
        Assert.That(missing.Message, Does.Contain("'x'"));
    }

    [Test]
    public void UnknownOpListsTheKnownOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => OpCatalog.Get("no_such_op"))!;
        Assert.That(e.Message, Does.Contain("axpby").And.Contain("softmax"));
    }

    [Test]
    public void CatalogSpansAssembliesThroughGeneratedRegistries()
    {
        // axpby lives in Zoetrope.Runtime, softmax in Zoetrope.Attention: both registered.
        Assert.That(OpCatalog.Find("axpby")!.OpType.Assembly.GetName().Name, Is.EqualTo("Zoetrope.Runtime"));
        Assert.That(OpCatalog.Find("softmax")!.OpType.Assembly.GetName().Name, Is.EqualTo("Zoetrope.Attention"));
        Assert.That(Softmax.Info.Backends, Is.EqualTo(BackendKinds.All));
    }
}
