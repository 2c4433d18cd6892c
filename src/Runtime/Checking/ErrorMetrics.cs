namespace Zoetrope.Runtime.Checking;

/// <summary>
/// How far an output is from the reference: relative L2 (||a - e|| / ||e||, or ||a - e|| when
/// e is all zeros), largest absolute error, the first element whose non-finite value is not the
/// reference's, and the number of elements that differ at all. The comparison is NaN-aware: a
/// NaN or infinity where the reference is finite is a mismatch, and so is anything but the same
/// infinity where the reference holds one (a -inf LSE of a fully masked row must stay -inf);
/// matching infinities pass and stay out of the L2 and max-abs figures.
/// </summary>
/// <param name="RelL2">Relative L2 error.</param>
/// <param name="MaxAbs">Largest absolute error.</param>
/// <param name="MaxAbsIndex">Index of the largest absolute error.</param>
/// <param name="FirstNonFinite">First index where the output or the reference is NaN/Inf and the two differ, or -1.</param>
/// <param name="Mismatches">Elements that are not bit-for-bit equal to the reference.</param>
public sealed record ErrorMetrics(double RelL2, double MaxAbs, long MaxAbsIndex, long FirstNonFinite, long Mismatches)
{
    /// <summary>Compares <paramref name="actual"/> with <paramref name="expected"/>.</summary>
    public static ErrorMetrics Compare(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual)
    {
        if (expected.Length != actual.Length)
        {
            throw new ArgumentException($"cannot compare {actual.Length} elements with {expected.Length}", nameof(actual));
        }
        double diff2 = 0;
        double ref2 = 0;
        double maxAbs = 0;
        long maxAt = -1;
        long firstBad = -1;
        long mismatches = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i];
            double a = actual[i];
            if (!a.Equals(e))
            {
                mismatches++;
            }
            if (!double.IsFinite(a) || !double.IsFinite(e))
            {
                // Equals, not ==: NaN equals NaN here, and -inf equals only -inf.
                if (!a.Equals(e) && firstBad < 0)
                {
                    firstBad = i;
                }
                continue;
            }
            double d = Math.Abs(a - e);
            diff2 += d * d;
            ref2 += e * e;
            if (d > maxAbs || maxAt < 0)
            {
                maxAbs = d;
                maxAt = i;
            }
        }
        double rel = ref2 > 0 ? Math.Sqrt(diff2 / ref2) : Math.Sqrt(diff2);
        return new ErrorMetrics(rel, maxAbs, maxAt, firstBad, mismatches);
    }
}
