namespace Zoetrope.Attention.Norm;

/// <summary>What the row-norm engine makes of a normalized value: affine weight and bias, adaLN modulation...</summary>
internal interface IRowEpilogue
{
    /// <summary>The output for element (row, col) whose normalized value is <paramref name="normalized"/>.</summary>
    float Apply(long row, int col, float normalized);
}
