using Zoetrope.Runtime.Ops;

namespace Zoetrope.Runtime.Execution;

/// <summary>
/// Runs an op instance's reference implementation on host inputs and returns every written
/// tensor as doubles. Float outputs are computed into f64 tensors (the oracle keeps full
/// precision), integer outputs in their own dtype. A NaN in the reference is an error: a case
/// whose oracle has no value cannot judge anything. Infinities are values a contract may define
/// (the LSE of a row with no visible key is -inf), so they are returned, and a backend must match
/// them exactly (<see cref="Checking.ErrorMetrics"/>).
/// </summary>
internal static class ReferenceRunner
{
    /// <summary>The reference's outputs (and updated in-outs) by name.</summary>
    /// <exception cref="InvalidOperationException">The reference produced NaN.</exception>
    public static Dictionary<string, double[]> Run(OpInstance instance, IReadOnlyDictionary<string, Tensor> inputs)
    {
        ArgumentNullException.ThrowIfNull(instance);
        ArgumentNullException.ThrowIfNull(inputs);
        var host = Backends.Host;
        var tensors = new OpTensors();
        var owned = new List<Tensor>();
        try
        {
            foreach (var spec in instance.Signature.Tensors)
            {
                Tensor t;
                if (spec.Role == TensorRole.Output)
                {
                    t = host.Allocate(spec.DType.IsFloat() ? DType.F64 : spec.DType, spec.Shape, spec.Name);
                    owned.Add(t);
                }
                else
                {
                    var given = inputs.TryGetValue(spec.Name, out var g)
                        ? g
                        : throw new ArgumentException($"op '{instance.Op.Name}': input '{spec.Name}' is missing", spec.Name);
                    // In-outs are updated in place: work on a copy so the caller's input survives.
                    t = spec.Role == TensorRole.InOut || !ReferenceEquals(given.Backend, host) ? given.To(host) : given;
                    if (!ReferenceEquals(t, given))
                    {
                        owned.Add(t);
                    }
                }
                tensors.Add(spec.Name, t);
            }
            instance.RunReference(tensors);
            var result = new Dictionary<string, double[]>(StringComparer.Ordinal);
            foreach (var spec in instance.Signature.Writes)
            {
                var values = tensors[spec.Name].ToDoubles();
                int bad = Array.FindIndex(values, double.IsNaN);
                if (bad >= 0)
                {
                    throw new InvalidOperationException($"op '{instance.Op.Name}': the reference's output '{spec.Name}' element {bad} is {values[bad]}");
                }
                result[spec.Name] = values;
            }
            return result;
        }
        finally
        {
            foreach (var t in owned)
            {
                t.Dispose();
            }
        }
    }
}
