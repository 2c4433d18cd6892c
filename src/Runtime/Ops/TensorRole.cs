namespace Zoetrope.Runtime.Ops;

/// <summary>How an op uses a tensor.</summary>
public enum TensorRole
{
    /// <summary>Read only.</summary>
    Input,
    /// <summary>Written only: every element must be written (the harness poisons it first).</summary>
    Output,
    /// <summary>Read and updated in place (caches, accumulators).</summary>
    InOut,
}
