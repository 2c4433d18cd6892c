namespace Zoetrope.Runtime.Ops;

/// <summary>
/// The -inf an input may hold under its op's contract (masked logits), and where the harness puts
/// it in a <see cref="CaseUse.Masked"/> case. The input is read as rows of <see cref="RowLength"/>
/// elements (its last dimension). Element i of the flattened tensor is -inf when i is a multiple of
/// 7 or of 32: with 32-lane warps striding a row, some lane meets -inf first, some twice running,
/// some nothing else (a lane fully masked while its row is not), whatever the row length. When
/// <see cref="FullRows"/> is set, rows r with r % 3 == 1 are -inf throughout (fully masked rows,
/// for contracts that define them); every other row keeps at least one finite element.
/// </summary>
/// <param name="RowLength">Elements per row (the masked axis); positive.</param>
/// <param name="FullRows">Whether the contract defines fully masked rows, so the harness makes some.</param>
public sealed record NegInfPattern(long RowLength, bool FullRows)
{
    /// <summary>Flat-index strides of the scattered -inf.</summary>
    public static IReadOnlyList<int> Strides { get; } = [7, 32];

    /// <summary>Every <see cref="FullRowPeriod"/>-th row (from row 1) is fully masked when <see cref="FullRows"/> is set.</summary>
    public const int FullRowPeriod = 3;

    /// <summary>Masked logits over rows of <paramref name="rowLength"/>, with fully masked rows when <paramref name="fullyMaskedRows"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rowLength"/> is not positive.</exception>
    public static NegInfPattern Logits(long rowLength, bool fullyMaskedRows)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rowLength);
        return new NegInfPattern(rowLength, fullyMaskedRows);
    }

    /// <summary>True when row <paramref name="row"/> is fully masked.</summary>
    public bool IsFullRow(long row) => FullRows && row % FullRowPeriod == 1;

    /// <summary>True when the flat element <paramref name="index"/> is -inf.</summary>
    public bool IsMasked(long index)
    {
        if (IsFullRow(index / RowLength))
        {
            return true;
        }
        foreach (int s in Strides)
        {
            if (index % s == 0)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Puts -inf into <paramref name="values"/> (drawn finite) at the pattern's positions.</summary>
    /// <exception cref="ArgumentException"><paramref name="values"/> is not whole rows.</exception>
    public void Apply(Span<double> values)
    {
        if (values.Length % RowLength != 0)
        {
            throw new ArgumentException($"a masked input of {values.Length} elements is not whole rows of {RowLength}", nameof(values));
        }
        for (long r = 0; r < values.Length / RowLength; r++)
        {
            long start = r * RowLength;
            bool anyFinite = false;
            for (long c = 0; c < RowLength; c++)
            {
                if (!IsMasked(start + c))
                {
                    anyFinite = true;
                    break;
                }
            }
            for (long c = 0; c < RowLength; c++)
            {
                // A row the contract does not mask fully keeps its last element when the strides
                // would cover all of it (rows of one or two elements).
                bool keep = !anyFinite && !IsFullRow(r) && c == RowLength - 1;
                if (IsMasked(start + c) && !keep)
                {
                    values[checked((int)(start + c))] = double.NegativeInfinity;
                }
            }
        }
    }
}
