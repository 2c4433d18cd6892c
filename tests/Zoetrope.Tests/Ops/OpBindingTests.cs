using NUnit.Framework;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Tests.Ops;

/// <summary>
/// The op contract (<see cref="OpContract"/>, <see cref="OpAttr"/>): every case of every op binds
/// back from its own inputs and the attribute values its op says reproduce it (so the
/// ready-to-paste run-op line of <c>zoe ops</c> is right for every case), and binding refuses
/// what it used to ignore.
/// </summary>
public class OpBindingTests
{
    public static IEnumerable<TestCaseData> Cases()
    {
        foreach (var op in OpCatalog.All)
        {
            foreach (var c in op.Cases().Where(c => !c.Use.HasFlag(CaseUse.Bench) || c.Use.HasFlag(CaseUse.Check)))
            {
                yield return new TestCaseData(op.Name, c.Index).SetName($"{op.Name} | {c.Label}");
            }
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void EveryCaseBindsBackFromItsInputsAndAttributes(string opName, int index)
    {
        var op = OpCatalog.Get(opName);
        var c = op.Cases()[index];
        var inputs = c.Instance.Signature.Reads.ToDictionary(s => s.Name, s => Backends.Host.Allocate(s.DType, s.Shape, s.Name), StringComparer.Ordinal);
        try
        {
            var attributes = c.Instance.Attributes.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
            var bound = op.Bind(new OpBinding(op.Name, inputs, attributes));
            // density is the case table's own knob (how full the harness makes the LUT), not the op's.
            Assert.That(NoDensity(bound.Label), Is.EqualTo(NoDensity(c.Instance.Label)), $"attributes {string.Join(" ", attributes.Select(kv => $"{kv.Key}={kv.Value}"))}");
            Assert.That(bound.Signature.Tensors.Select(t => (t.Name, t.Role, t.DType, t.Shape)),
                Is.EqualTo(c.Instance.Signature.Tensors.Select(t => (t.Name, t.Role, t.DType, t.Shape))));
        }
        finally
        {
            foreach (var t in inputs.Values)
            {
                t.Dispose();
            }
        }
    }

    private static string NoDensity(string label) => System.Text.RegularExpressions.Regex.Replace(label, @" density=[0-9.]+", string.Empty);

    [Test]
    public void EveryOpDeclaresWhatItsBindReads()
    {
        foreach (var op in OpCatalog.All)
        {
            var contract = op.Contract;
            Assert.That(contract.Reads.Any(), $"{op.Name} has inputs");
            Assert.That(contract.Writes.Any(), $"{op.Name} has outputs");
            foreach (var a in contract.Attributes)
            {
                Assert.That(a.Description, Is.Not.Empty, $"{op.Name}.{a.Name} says what it means");
                Assert.That(a.Problem(a.DefaultText) is null || a.DefaultText.Contains(' ', StringComparison.Ordinal) || a.DefaultText.Contains('/', StringComparison.Ordinal),
                    $"{op.Name}.{a.Name}'s default {a.DefaultText} is itself valid (or is a computed default)");
            }
        }
    }

    private static ArgumentException BindError(string op, Dictionary<string, Tensor> inputs, params (string, string)[] attrs) =>
        Assert.Throws<ArgumentException>(() => OpCatalog.Get(op).Bind(new OpBinding(op, inputs, attrs.ToDictionary(a => a.Item1, a => a.Item2))))!;

    private static Dictionary<string, Tensor> Host(params (string Name, DType DType, Shape Shape)[] specs) =>
        specs.ToDictionary(s => s.Name, s => Backends.Host.Allocate(s.DType, s.Shape, s.Name), StringComparer.Ordinal);

    [Test]
    public void AnUnknownAttributeIsAnErrorNamingTheOneThatExists()
    {
        var qkv = Host(("q", DType.F32, new Shape(1, 2, 8, 64)), ("k", DType.F32, new Shape(1, 2, 8, 64)), ("v", DType.F32, new Shape(1, 2, 8, 64)));
        var e = BindError("attention", qkv, ("causal", "true"));
        Assert.That(e.Message, Does.Contain("no attribute 'causal'").And.Contain("mask=causal"));
        e = BindError("attention", qkv, ("maks", "causal"));
        Assert.That(e.Message, Does.Contain("did you mean mask=causal"));
        var xy = Host(("x", DType.F32, new Shape(4)), ("y", DType.F32, new Shape(4)));
        e = BindError("axpby", xy, ("q", "1"));
        Assert.That(e.Message, Does.Contain("no attribute 'q'").And.Contain("a, b"));
    }

    [Test]
    public void ValuesOutsideAnAttributesTypeOrRangeAreErrors()
    {
        var qkv = Host(("q", DType.F32, new Shape(1, 2, 8, 64)), ("k", DType.F32, new Shape(1, 2, 8, 64)), ("v", DType.F32, new Shape(1, 2, 8, 64)));
        var e = BindError("attention", qkv, ("lse", "yes"), ("mask", "diagonal"), ("window", "-1"));
        Assert.That(e.Message, Does.Contain("lse=yes: not a bool (true|false)"));
        Assert.That(e.Message, Does.Contain("mask=diagonal: expected none|causal|block_causal"));
        Assert.That(e.Message, Does.Contain("window=-1: expected >= 0"));
        // Attributes that would be ignored under the chosen mask.
        e = BindError("attention", qkv, ("window", "2"));
        Assert.That(e.Message, Does.Contain("apply to mask=block_causal"));
    }

    [Test]
    public void InputsAreCheckedByNameDtypeRankAndSizeBeforeBinding()
    {
        var e = BindError("axpby", Host(("x", DType.F32, new Shape(4)), ("y", DType.F32, new Shape(4)), ("z", DType.F32, new Shape(4))));
        Assert.That(e.Message, Does.Contain("no input 'z' (inputs: x, y)"));
        // x f64, y f32: x is the one outside the contract, and x is blamed.
        e = BindError("axpby", Host(("x", DType.F64, new Shape(4)), ("y", DType.F32, new Shape(4))));
        Assert.That(e.Message, Does.Contain("input 'x' is f64; expected"));
        Assert.That(e.Message, Does.Not.Contain("'y'"));
        e = BindError("softmax", Host(("x", DType.F32, new Shape(0, 3))));
        Assert.That(e.Message, Does.Contain("input 'x' is empty (shape [0, 3])"));
        // Every missing input at once, with dtype and shape.
        e = BindError("attention", Host(("q", DType.F32, new Shape(1, 2, 8, 64))));
        Assert.That(e.Message, Does.Contain("missing inputs: 'k' f16|bf16|f32 rank 4").And.Contain("; 'v' f16|bf16|f32 rank 4"));
        e = BindError("axpby", Host(("x", DType.F32, new Shape(4)), ("y", DType.F32, new Shape(4)), ("out", DType.F32, new Shape(4))));
        Assert.That(e.Message, Does.Contain("'out' is an output"));
    }
}
