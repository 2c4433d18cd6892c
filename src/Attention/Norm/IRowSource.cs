namespace Zoetrope.Attention.Norm;

/// <summary>
/// Where the row-norm engine gets element (row, col) of the tensor it normalizes, in fp32, and
/// what it does with that value once more in the output pass (a fused residual writes it out).
/// Implementations are structs holding ILGPU views: the engine is instantiated per source.
/// </summary>
internal interface IRowSource
{
    /// <summary>The value to normalize.</summary>
    float Load(long row, int col);

    /// <summary>Called in the output pass with the value loaded; most sources do nothing.</summary>
    void Emit(long row, int col, float value);
}
