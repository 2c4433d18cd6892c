namespace Zoetrope.Runtime.Ops;

/// <summary>
/// How the check harness fills an input: never zeros, always from a seeded generator, so a
/// failure can be replayed.
/// </summary>
public abstract record InitSpec
{
    /// <summary>Standard normal values (mean 0, deviation 1).</summary>
    public static InitSpec Normal { get; } = new NormalInit(0, 1);

    /// <summary>Normal values with the given mean and deviation.</summary>
    public static InitSpec Gaussian(double mean, double std) => new NormalInit(mean, std);

    /// <summary>Uniform values in [lo, hi).</summary>
    public static InitSpec Uniform(double lo, double hi) => new UniformInit(lo, hi);

    /// <summary>Uniform integers in [lo, hi] (inclusive).</summary>
    public static InitSpec Integers(long lo, long hi) => new IntegerInit(lo, hi);

    /// <summary>Values made by <paramref name="fill"/> (tables such as RoPE frequencies; positions); <paramref name="description"/> names it in reports.</summary>
    public static InitSpec Custom(string description, Action<double[], Random> fill) => new CustomInit(description, fill);

    /// <summary>
    /// The -inf this input may hold under the op's contract (masked logits), or null: finite
    /// only. The harness draws finite values as usual and puts -inf at the pattern's positions
    /// only in <see cref="CaseUse.Masked"/> cases.
    /// </summary>
    public NegInfPattern? Masking { get; init; }

    /// <summary>This fill, for an input whose contract allows -inf at <paramref name="pattern"/>'s positions (<see cref="Masking"/>).</summary>
    public InitSpec WithMasking(NegInfPattern pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        return this with { Masking = pattern };
    }

    /// <summary>Fills <paramref name="values"/> from <paramref name="rng"/>.</summary>
    public abstract void Fill(Span<double> values, Random rng);

    private sealed record NormalInit(double Mean, double Std) : InitSpec
    {
        public override void Fill(Span<double> values, Random rng)
        {
            for (int i = 0; i < values.Length; i++)
            {
                // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
                double u1 = 1.0 - rng.NextDouble();
                double u2 = rng.NextDouble();
                values[i] = Mean + (Std * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
            }
        }
    }

    private sealed record UniformInit(double Lo, double Hi) : InitSpec
    {
        public override void Fill(Span<double> values, Random rng)
        {
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = Lo + ((Hi - Lo) * rng.NextDouble());
            }
        }
    }

    private sealed record CustomInit(string Description, Action<double[], Random> Generate) : InitSpec
    {
        public override void Fill(Span<double> values, Random rng)
        {
            var buffer = new double[values.Length];
            Generate(buffer, rng);
            buffer.CopyTo(values);
        }
    }

    private sealed record IntegerInit(long Lo, long Hi) : InitSpec
    {
        public override void Fill(Span<double> values, Random rng)
        {
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = rng.NextInt64(Lo, Hi + 1);
            }
        }
    }
}
