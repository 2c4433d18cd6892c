namespace Zoetrope.Runtime.Ops;

/// <summary>The named tensors of one op instance, built fluently: <c>new OpSignature().In(...).Out(...)</c>.</summary>
public sealed class OpSignature
{
    private readonly List<TensorSpec> _tensors = [];

    /// <summary>All tensors in declaration order.</summary>
    public IReadOnlyList<TensorSpec> Tensors => _tensors;

    /// <summary>Inputs and in-outs.</summary>
    public IEnumerable<TensorSpec> Reads => _tensors.Where(t => t.IsRead);

    /// <summary>Outputs and in-outs.</summary>
    public IEnumerable<TensorSpec> Writes => _tensors.Where(t => t.IsWritten);

    /// <summary>The tensor named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No such tensor.</exception>
    public TensorSpec this[string name] =>
        _tensors.FirstOrDefault(t => t.Name == name)
        ?? throw new ArgumentException($"no tensor '{name}' in signature ({string.Join(", ", _tensors.Select(t => t.Name))})", nameof(name));

    /// <summary>Adds an input.</summary>
    public OpSignature In(string name, DType dtype, Shape shape, InitSpec? init = null) =>
        Add(new TensorSpec(name, TensorRole.Input, dtype, shape, init ?? InitSpec.Normal, false));

    /// <summary>Adds an output; <paramref name="exact"/> asks for bit-exact comparison, <paramref name="tolerance"/> replaces the table's.</summary>
    public OpSignature Out(string name, DType dtype, Shape shape, bool exact = false, Tolerance? tolerance = null) =>
        Add(new TensorSpec(name, TensorRole.Output, dtype, shape, InitSpec.Normal, exact, tolerance));

    /// <summary>Adds a tensor read and updated in place.</summary>
    public OpSignature InOut(string name, DType dtype, Shape shape, InitSpec? init = null, bool exact = false) =>
        Add(new TensorSpec(name, TensorRole.InOut, dtype, shape, init ?? InitSpec.Normal, exact));

    private OpSignature Add(TensorSpec spec)
    {
        if (_tensors.Any(t => t.Name == spec.Name))
        {
            throw new ArgumentException($"tensor '{spec.Name}' declared twice in a signature", nameof(spec));
        }
        _tensors.Add(spec);
        return this;
    }
}
