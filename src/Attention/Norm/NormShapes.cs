using ILGPU;
using ILGPU.Runtime;
using Zoetrope.Runtime;

namespace Zoetrope.Attention.Norm;

/// <summary>Shape helpers shared by the row-norm ops: rows x dim views of any tensor, and the launch grid.</summary>
internal static class NormShapes
{
    /// <summary>(rows, dim) of a tensor normalized over its last dimension.</summary>
    /// <exception cref="ArgumentException">A scalar, or a last dimension of 0 or above 2^31.</exception>
    public static (long Rows, int Dim) Rows(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank == 0 || x.Shape[-1] == 0 || x.Shape[-1] > int.MaxValue)
        {
            throw new ArgumentException($"tensor '{x.Name}' {x.Shape}: a row norm needs a last dimension in [1, 2^31)", x.Name);
        }
        return (x.ElementCount / x.Shape[-1], (int)x.Shape[-1]);
    }

    /// <summary><paramref name="t"/> viewed as [rows, dim] (it must be contiguous with that many elements).</summary>
    public static Tensor AsRows(Tensor t, long rows, int dim)
    {
        ArgumentNullException.ThrowIfNull(t);
        return t.Rank == 2 && t.Shape[0] == rows && t.Shape[1] == dim ? t : t.Reshape(new Shape(rows, dim));
    }

    /// <summary>The launch shape: one 32-lane group per row (at most 2^31 - 1 rows).</summary>
    public static KernelConfig RowGrid(long rows)
    {
        if (rows is < 1 or > int.MaxValue)
        {
            throw new NotSupportedException($"{rows} rows: a row-norm launch takes 1 to 2^31 - 1 rows");
        }
        return new KernelConfig((int)rows, RowNormEngine.Lanes);
    }
}
