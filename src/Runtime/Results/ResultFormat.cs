// How measured numbers are printed, in one rule for every column of `zoe bench` and compare.md:
// three significant digits. Times on one table span six decades (0.0017 ms on the reference,
// 13.6 ms on ilgpu-cpu) and ratios span eight (0.000147x to 12,400x); a fixed count of decimals
// prints the small ones as 0.002 or 0.00x, which read as a fact they are not.
//   1000 <= |v| < 1e7     whole number with thousands separators, rounded to 3 digits: 12,400
//   1e-4 <= |v| < 1000    fixed point with as many decimals as 3 digits need: 0.000147, 6.79, 454
//   otherwise             scientific, lower-case, no padded exponent: 6.75e-11, 2.50e+7
using System.Globalization;

namespace Zoetrope.Runtime.Results;

/// <summary>The number format of benchmark tables: three significant digits (see the file header).</summary>
internal static class ResultFormat
{
    private const int Digits = 3;

    /// <summary><paramref name="value"/> with three significant digits.</summary>
    public static string Significant(double value)
    {
        if (double.IsNaN(value) || double.IsInfinity(value))
        {
            return value.ToString(CultureInfo.InvariantCulture);
        }
        if (value == 0)
        {
            return "0";
        }
        double magnitude = Math.Abs(value);
        // Round first, then pick the form: 9.996 rounds to 10.0 (three digits), not 10.00.
        int exponent = (int)Math.Floor(Math.Log10(magnitude));
        double scale = Math.Pow(10, exponent - (Digits - 1));
        double rounded = Math.Round(magnitude / scale, MidpointRounding.AwayFromZero) * scale;
        exponent = (int)Math.Floor(Math.Log10(rounded) + 1e-12);
        string sign = value < 0 ? "-" : string.Empty;
        if (exponent >= 3 && exponent < 7)
        {
            return sign + rounded.ToString("#,0", CultureInfo.InvariantCulture);
        }
        if (exponent >= -4 && exponent < 3)
        {
            return sign + rounded.ToString("F" + (Digits - 1 - exponent).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        }
        double mantissa = rounded / Math.Pow(10, exponent);
        return sign + mantissa.ToString("F" + (Digits - 1).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture)
            + "e" + (exponent > 0 ? "+" : string.Empty) + exponent.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>A speedup: three significant digits and an x (0.000147x, 6.79x, 5,460x); "-" when absent.</summary>
    public static string Ratio(double? value) => value is { } v ? Significant(v) + "x" : "-";

    /// <summary>A cell of a table: three significant digits, "-" when absent.</summary>
    public static string Cell(double? value) => value is { } v ? Significant(v) : "-";
}
