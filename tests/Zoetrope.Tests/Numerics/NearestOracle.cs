using Zoetrope.Runtime;

namespace Zoetrope.Tests.Numerics;

/// <summary>
/// An independent oracle for narrow-float encoding: the table of every finite non-negative
/// value of a format (decoded from its definition, not by <see cref="MiniFloat"/>), searched for
/// the nearest entry; ties go to the code whose last mantissa bit is 0; beyond the largest
/// finite value the IEEE overflow rule applies (round to max below max + ulp/2, at exactly that
/// midpoint ties-to-even decides), then saturation or infinity/NaN.
/// </summary>
internal sealed class NearestOracle
{
    private readonly double[] _values;
    private readonly uint[] _codes;

    public NearestOracle(int exponentBits, int mantissaBits, bool hasInfinity, uint nan)
    {
        ExponentBits = exponentBits;
        MantissaBits = mantissaBits;
        HasInfinity = hasInfinity;
        Nan = nan;
        int bias = (1 << (exponentBits - 1)) - 1;
        var pairs = new List<(double V, uint C)>();
        uint maxExp = (1u << exponentBits) - 1;
        for (uint e = 0; e <= maxExp; e++)
        {
            for (uint m = 0; m < 1u << mantissaBits; m++)
            {
                if (hasInfinity && e == maxExp)
                {
                    continue;
                }
                if (!hasInfinity && e == maxExp && m == (1u << mantissaBits) - 1)
                {
                    continue;
                }
                double frac = m / (double)(1u << mantissaBits);
                double v = e == 0 ? Math.Pow(2, 1 - bias) * frac : Math.Pow(2, (int)e - bias) * (1 + frac);
                pairs.Add((v, (e << mantissaBits) | m));
            }
        }
        _values = pairs.Select(p => p.V).ToArray();
        _codes = pairs.Select(p => p.C).ToArray();
        SignBit = 1u << (exponentBits + mantissaBits);
    }

    public int ExponentBits { get; }

    public int MantissaBits { get; }

    public bool HasInfinity { get; }

    public uint Nan { get; }

    public uint SignBit { get; }

    public double Max => _values[^1];

    /// <summary>Every finite non-negative value, ascending.</summary>
    public IReadOnlyList<double> Values => _values;

    public uint Encode(double x, bool saturate)
    {
        if (double.IsNaN(x))
        {
            return Nan;
        }
        uint sign = double.IsNegative(x) ? SignBit : 0;
        double a = Math.Abs(x);
        uint maxCode = _codes[^1];
        uint overflow = saturate ? maxCode : HasInfinity ? ((1u << ExponentBits) - 1) << MantissaBits : Nan;
        if (double.IsInfinity(a))
        {
            return overflow == Nan ? Nan : sign | overflow;
        }
        if (a > Max)
        {
            double ulp = Max - _values[^2];
            double mid = Max + (ulp / 2);
            bool toMax = a < mid || (a == mid && (maxCode & 1) == 0);
            uint c = toMax ? maxCode : overflow;
            return c == Nan ? Nan : sign | c;
        }
        int i = Array.BinarySearch(_values, a);
        if (i >= 0)
        {
            return sign | _codes[i];
        }
        int hi = ~i;
        int lo = hi - 1;
        double dlo = a - _values[lo];
        double dhi = _values[hi] - a;
        uint code = dlo < dhi ? _codes[lo] : dhi < dlo ? _codes[hi] : ((_codes[lo] & 1) == 0 ? _codes[lo] : _codes[hi]);
        return sign | code;
    }
}
