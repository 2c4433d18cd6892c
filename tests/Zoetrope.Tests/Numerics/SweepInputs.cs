// Inputs for the narrow-float encoder sweeps, per format (seeded, so every run tests the same
// values; built once per format and shared by the tests that sweep it).
//
// Float32 inputs, binades from the format's smallest subnormal - 3 to its largest finite + 3
// (clipped to float32, float32 subnormals included):
//   - structured: every value of the M bits the format keeps, times the dropped bits drawn from
//     {0, 1, 0111.., 1000.., 1000..1, 0100.., 1100.., 11..1} and 4 random patterns, both signs
//     (every guard/sticky/parity combination in every binade);
//   - 2^20 random values (uniform binade, uniform 23-bit fraction, random sign);
//   - every exact tie (midpoint of two neighbours, including 0 | smallest subnormal and
//     max | the overflow sentinel), every representable value, and the float32 on each side of
//     both, with both signs; the float32 extremes and +-0, +-Inf.
// Double-only inputs (not float32 values; they catch double rounding through binary32): the
// double on each side of every tie and representable value (and bf16's sentinel 2^128, which
// float32 cannot hold), and 2^18 random doubles with full
// 52-bit fractions over the same binades, plus the double extremes.
// NaN is not swept: each encoder's NaN rule is tested on its own.
namespace Zoetrope.Tests.Numerics;

internal static class SweepInputs
{
    public const int RandomCount = 1 << 20;

    private static readonly Dictionary<string, (float[] Floats, double[] Doubles)> Cache = [];

    /// <summary>Float32 inputs for <paramref name="f"/>.</summary>
    public static float[] Floats(ReferenceFormat f) => Get(f).Floats;

    /// <summary>Double inputs for <paramref name="f"/> that float32 cannot hold.</summary>
    public static double[] DoublesOnly(ReferenceFormat f) => Get(f).Doubles;

    /// <summary>Every float32 input widened, then every double-only input.</summary>
    public static IEnumerable<double> All(ReferenceFormat f)
    {
        foreach (float x in Floats(f))
        {
            yield return x;
        }
        foreach (double x in DoublesOnly(f))
        {
            yield return x;
        }
    }

    private static (float[] Floats, double[] Doubles) Get(ReferenceFormat f)
    {
        lock (Cache)
        {
            if (!Cache.TryGetValue(f.Name, out var inputs))
            {
                inputs = (BuildFloats(f), BuildDoubles(f));
                Cache[f.Name] = inputs;
            }
            return inputs;
        }
    }

    private static int LowBinade(ReferenceFormat f) => f.MinSubnormalExponent - 3;

    private static int HighBinade(ReferenceFormat f) => f.MaxExponent + 3;

    // A float32 in binade e (normal or float32-subnormal) with 23-bit fraction `frac`; for a
    // float32-subnormal binade the fraction bits that do not fit are dropped.
    private static float Float32(bool negative, int e, uint frac)
    {
        uint bits = e >= -126 ? ((uint)(e + 127) << 23) | frac : (1u << (e + 149)) | (frac >> (-126 - e));
        return BitConverter.UInt32BitsToSingle(bits | (negative ? 0x8000_0000u : 0));
    }

    // Every finite non-negative value and the overflow sentinel, and the exact midpoint after each.
    private static IEnumerable<double> ValuesAndTies(ReferenceFormat f)
    {
        var table = f.ValuesWithSentinel;
        for (int i = 0; i < table.Count; i++)
        {
            yield return table[i];
            if (i + 1 < table.Count)
            {
                yield return (table[i] + table[i + 1]) / 2;
            }
        }
    }

    private static float[] BuildFloats(ReferenceFormat f)
    {
        var rng = new Random(0x5EED + f.CodeCount + f.MantissaBits);
        var list = new List<float>();
        int lo = Math.Max(LowBinade(f), -149);
        int hi = Math.Min(HighBinade(f), 127);
        int m = f.MantissaBits;
        int dropped = 23 - m;
        uint half = 1u << (dropped - 1);
        uint[] fixedLow = [0, 1, half - 1, half, half + 1, half >> 1, half | (half >> 1), (half << 1) - 1];
        for (int e = lo; e <= hi; e++)
        {
            var low = fixedLow.Concat(Enumerable.Range(0, 4).Select(_ => (uint)rng.Next(1 << dropped))).ToArray();
            for (uint kept = 0; kept < 1u << m; kept++)
            {
                foreach (uint l in low)
                {
                    list.Add(Float32(false, e, (kept << dropped) | l));
                    list.Add(Float32(true, e, (kept << dropped) | l));
                }
            }
        }
        for (int i = 0; i < RandomCount; i++)
        {
            list.Add(Float32(rng.Next(2) == 1, rng.Next(lo, hi + 1), (uint)rng.Next(1 << 23)));
        }
        foreach (double p in ValuesAndTies(f))
        {
            float x = (float)p;
            if (float.IsInfinity(x))
            {
                continue; // bf16's overflow sentinel 2^128: a double-only input
            }
            if (x != p)
            {
                throw new InvalidOperationException($"{f}: {p:R} is not a float32");
            }
            foreach (float y in new[] { x, MathF.BitIncrement(x), MathF.BitDecrement(x) })
            {
                list.Add(y);
                list.Add(-y);
            }
        }
        list.AddRange([0f, -0f, float.PositiveInfinity, float.NegativeInfinity, float.MaxValue, -float.MaxValue,
            float.Epsilon, -float.Epsilon, BitConverter.UInt32BitsToSingle(0x0080_0000), (float)(2 * f.Max), 1e30f, -1e-30f]);
        return [.. list];
    }

    private static double[] BuildDoubles(ReferenceFormat f)
    {
        var rng = new Random(0xD0B1E + f.CodeCount);
        var list = new List<double>();
        foreach (double p in ValuesAndTies(f))
        {
            foreach (double y in new[] { p, Math.BitIncrement(p), Math.BitDecrement(p) })
            {
                if (y != (float)y)
                {
                    list.Add(y);
                    list.Add(-y);
                }
            }
        }
        int lo = LowBinade(f);
        int hi = HighBinade(f);
        for (int i = 0; i < 1 << 18; i++)
        {
            long frac = rng.NextInt64(1L << 52);
            double x = ReferenceFormat.Pow2(rng.Next(lo, hi + 1)) * (1 + (frac / (double)(1L << 52)));
            list.Add(rng.Next(2) == 1 ? -x : x);
        }
        list.AddRange([double.Epsilon, -double.Epsilon, double.MaxValue, -double.MaxValue, 1e-300, -1e300,
            ReferenceFormat.Pow2(-1022), Math.BitDecrement(ReferenceFormat.Pow2(-1022))]);
        return [.. list];
    }
}
