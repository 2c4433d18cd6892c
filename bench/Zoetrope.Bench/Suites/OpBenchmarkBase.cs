using BenchmarkDotNet.Attributes;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Execution;
using Zoetrope.Runtime.Ops;
using Zoetrope.Runtime.Results;

namespace Zoetrope.Bench.Suites;

/// <summary>
/// The shared engine of the op suites: for one case row of one op, allocate seeded inputs and
/// outputs on the chosen backend once, then time a run that ends with a device synchronize
/// (so GPU work is inside the measurement). A family suite only names its ops.
/// </summary>
public abstract class OpBenchmarkBase
{
    private Backend _backend = null!;
    private OpInstance _instance = null!;
    private OpTensors _tensors = null!;
    private readonly List<Tensor> _owned = [];

    /// <summary>The suite (BenchSuites, the table `zoe bench` uses too) whose ops this class measures.</summary>
    protected abstract string Suite { get; }

    /// <summary>"op#row" for every row of the family's tables used by this run.</summary>
    public IEnumerable<string> Rows()
    {
        var use = Environment.GetEnvironmentVariable("ZOETROPE_BENCH_USE") == "bench" ? CaseUse.Bench : CaseUse.Check;
        var kind = BackendKinds.Parse(Environment.GetEnvironmentVariable("ZOETROPE_BENCH_BACKEND") ?? "ilgpu-cpu");
        foreach (var name in BenchSuites.Ops(Suite))
        {
            var op = OpCatalog.Get(name);
            foreach (var c in op.Cases().Where(c => c.Use.HasFlag(use) && op.Caps.Allows(kind, c.Instance.Cost.Work)))
            {
                yield return $"{name}#{c.Index}";
            }
        }
    }

    /// <summary>The row being measured.</summary>
    [ParamsSource(nameof(Rows))]
    public string Row { get; set; } = string.Empty;

    /// <summary>Allocates and uploads once per row.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var kind = BackendKinds.Parse(Environment.GetEnvironmentVariable("ZOETROPE_BENCH_BACKEND") ?? "ilgpu-cpu");
        _backend = Backends.Get(kind);
        var parts = Row.Split('#');
        var op = OpCatalog.Get(parts[0]);
        _instance = op.Cases()[int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture)].Instance;
        _tensors = new OpTensors();
        var inputs = InputFactory.HostInputs(_instance.Signature, seed: 1);
        foreach (var spec in _instance.Signature.Tensors)
        {
            var t = spec.IsRead ? inputs[spec.Name].To(_backend) : _backend.Allocate(spec.DType, spec.Shape, spec.Name);
            _owned.Add(t);
            _tensors.Add(spec.Name, t);
        }
        foreach (var t in inputs.Values)
        {
            t.Dispose();
        }
        _instance.Run(_backend, _tensors);
        _backend.Synchronize();
    }

    /// <summary>One run of the op, synchronized.</summary>
    [Benchmark]
    public void Run()
    {
        _instance.Run(_backend, _tensors);
        _backend.Synchronize();
    }

    /// <summary>Frees the device tensors.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in _owned)
        {
            t.Dispose();
        }
        _owned.Clear();
    }
}
