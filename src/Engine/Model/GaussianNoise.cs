// GaussianNoise: a seeded, platform-independent N(0, 1) stream (SplitMix64 + Box-Muller in
// double). System.Random's seeded sequence is an implementation detail of .NET; this one is
// fixed by this file, so a seed gives bit-identical latents on every machine and release.
// The README's sampler section states the generator step by step for other implementations
// (the constant 1/9007199254740993.0 below is 2^-53: the literal rounds to 2^53 as a double).
namespace Zoetrope.Engine;

/// <summary>A deterministic standard-normal generator.</summary>
public sealed class GaussianNoise
{
    private ulong _state;
    private double _spare;
    private bool _hasSpare;

    /// <summary>Starts the stream at <paramref name="seed"/>.</summary>
    public GaussianNoise(ulong seed)
    {
        _state = seed;
    }

    /// <summary>A stream for one (seed, stream, index) triple, e.g. (run seed, block, step).</summary>
    public static GaussianNoise For(ulong seed, long stream, long index) =>
        new(Mix(seed ^ Mix((ulong)stream * 0x9E3779B97F4A7C15UL) ^ Mix(((ulong)index + 1) * 0xC2B2AE3D27D4EB4FUL)));

    /// <summary>A host f32 tensor of seeded N(0, 1) values (prompts and inputs for demos, tests, benchmarks).</summary>
    public static Tensor Sample(ulong seed, Shape shape, string name)
    {
        var rng = new GaussianNoise(seed);
        var values = new double[shape.ElementCount];
        for (long i = 0; i < values.LongLength; i++)
        {
            values[i] = rng.Next();
        }
        return Tensor.FromDoubles(values, DType.F32, shape, name);
    }

    /// <summary>The next sample.</summary>
    public double Next()
    {
        if (_hasSpare)
        {
            _hasSpare = false;
            return _spare;
        }
        double u1 = ((NextBits() >> 11) + 1) * (1.0 / 9007199254740993.0); // (0, 1]
        double u2 = (NextBits() >> 11) * (1.0 / 9007199254740992.0);        // [0, 1)
        double r = Math.Sqrt(-2.0 * Math.Log(u1));
        _spare = r * Math.Sin(2 * Math.PI * u2);
        _hasSpare = true;
        return r * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Fills <paramref name="values"/> with samples.</summary>
    public void Fill(Span<float> values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)Next();
        }
    }

    private ulong NextBits()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
