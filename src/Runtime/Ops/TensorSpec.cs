namespace Zoetrope.Runtime.Ops;

/// <summary>One tensor of an op's signature.</summary>
/// <param name="Name">The name tensors are passed under (<see cref="OpTensors"/>).</param>
/// <param name="Role">Input, output or in-out.</param>
/// <param name="DType">Element type.</param>
/// <param name="Shape">Extents.</param>
/// <param name="Init">How the harness fills it (inputs and in-outs).</param>
/// <param name="Exact">For outputs: compare bit for bit (integer dtypes always are, unless <paramref name="Tolerance"/> says otherwise).</param>
/// <param name="Tolerance">
/// For outputs: a tolerance that replaces the table's, e.g. an int8 output of a fused float
/// pipeline (norm, rope, quantize), where backends' last-ulp differences may move a value
/// across a rounding boundary by one step. Pure quantizers never set it: they are bit-exact.
/// </param>
public sealed record TensorSpec(string Name, TensorRole Role, DType DType, Shape Shape, InitSpec Init, bool Exact, Tolerance? Tolerance = null)
{
    /// <summary>True for inputs and in-outs.</summary>
    public bool IsRead => Role != TensorRole.Output;

    /// <summary>True for outputs and in-outs.</summary>
    public bool IsWritten => Role != TensorRole.Input;

    /// <summary>True when the harness demands equality (exact flag or integer dtype).</summary>
    public bool ComparesExactly => Tolerance is null && (Exact || DType.IsInteger());
}
