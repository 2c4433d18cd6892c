// Noise sources: where the sampler's Gaussian draws come from. A draw is addressed by (stream,
// index): in a stream (block, step), in one-shot generation (0, step); index 0 is the initial
// noise and index i >= 1 the re-noise mixed in before step i. A seed computes every draw
// (GaussianNoise); a table holds draws read from .npy files, so another implementation's noise
// can be fed in and its latents reproduced.
namespace Zoetrope.Engine;

/// <summary>The Gaussian draws of a sampler, by (stream, index).</summary>
public interface INoiseSource
{
    /// <summary>Where the draws come from, for reports ("seed 42", "n.npy").</summary>
    string Description { get; }

    /// <summary>Floats per draw when the source fixes it (a table), else null (a seed draws any length).</summary>
    int? DrawLength { get; }

    /// <summary>Whether draw (<paramref name="stream"/>, <paramref name="index"/>) exists.</summary>
    bool Has(long stream, int index);

    /// <summary>Fills <paramref name="values"/> with draw (<paramref name="stream"/>, <paramref name="index"/>).</summary>
    /// <exception cref="ArgumentException">The draw does not exist, or <paramref name="values"/> is not <see cref="DrawLength"/> long.</exception>
    void Fill(long stream, int index, Span<float> values);
}

/// <summary>Draws computed from a seed: draw (s, i) is <see cref="GaussianNoise.For"/>(seed, s, i), every value in turn.</summary>
/// <param name="Seed">The run's seed.</param>
public sealed record SeededNoise(ulong Seed) : INoiseSource
{
    /// <inheritdoc />
    public string Description => $"seed {Seed}";

    /// <inheritdoc />
    public int? DrawLength => null;

    /// <inheritdoc />
    public bool Has(long stream, int index) => stream >= 0 && index >= 0;

    /// <inheritdoc />
    public void Fill(long stream, int index, Span<float> values)
    {
        if (!Has(stream, index))
        {
            throw new ArgumentException($"noise: draw ({stream}, {index}) has a negative index");
        }
        GaussianNoise.For(Seed, stream, index).Fill(values);
    }
}

/// <summary>
/// Draws held in memory: <see cref="Streams"/> x <see cref="Indices"/> draws of <see cref="DrawLength"/>
/// floats each, draw (s, i) at offset (s * Indices + i) * DrawLength; draws with an index past the
/// table come from the fallback when there is one.
/// </summary>
internal sealed class NoiseTable : INoiseSource
{
    private readonly float[] _draws;
    private readonly INoiseSource? _fallback;

    /// <summary>A table over <paramref name="draws"/> ([streams, indices, drawLength] in C order).</summary>
    /// <exception cref="ArgumentException">The counts do not multiply to the array's length.</exception>
    public NoiseTable(string description, float[] draws, long streams, int indices, int drawLength, INoiseSource? fallback = null)
    {
        ArgumentNullException.ThrowIfNull(description);
        ArgumentNullException.ThrowIfNull(draws);
        if (streams <= 0 || indices <= 0 || drawLength <= 0 || streams * indices * drawLength != draws.LongLength)
        {
            throw new ArgumentException($"noise {description}: {draws.LongLength} values are not {streams} x {indices} draws of {drawLength}");
        }
        Description = fallback is null ? description : $"{description}, then {fallback.Description}";
        _draws = draws;
        Streams = streams;
        Indices = indices;
        DrawLength = drawLength;
        _fallback = fallback;
    }

    /// <inheritdoc />
    public string Description { get; }

    /// <summary>Streams held (blocks of a stream; 1 for one-shot generation).</summary>
    public long Streams { get; }

    /// <summary>Draws held per stream (steps).</summary>
    public int Indices { get; }

    /// <inheritdoc />
    public int? DrawLength { get; }

    /// <inheritdoc />
    public bool Has(long stream, int index) =>
        stream >= 0 && stream < Streams && index >= 0 && (index < Indices || (_fallback?.Has(stream, index) ?? false));

    /// <inheritdoc />
    public void Fill(long stream, int index, Span<float> values)
    {
        if (!Has(stream, index))
        {
            throw new ArgumentException($"noise {Description}: no draw (block {stream}, step {index}); it holds {Streams} blocks x {Indices} steps");
        }
        if (values.Length != DrawLength)
        {
            throw new ArgumentException($"noise {Description}: a draw is {DrawLength} floats, asked for {values.Length}");
        }
        if (index >= Indices)
        {
            _fallback!.Fill(stream, index, values);
            return;
        }
        _draws.AsSpan((int)(((stream * Indices) + index) * DrawLength.Value), DrawLength.Value).CopyTo(values);
    }

    /// <summary>
    /// A stream's draws from <paramref name="file"/> holding [blocks, steps, C, F_block, H, W]:
    /// draw (block, step) is the block's initial noise at step 0 and the re-noise before step i
    /// otherwise. The file must hold at least <paramref name="blocks"/> blocks and <paramref name="steps"/> steps
    /// (more are allowed and never read); any float dtype, converted to f32.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong rank, frame shape, too few blocks or steps, or not floats; the message names the file, the expected and the actual shape.</exception>
    public static NoiseTable ForStream(Tensor file, string label, DiTConfig config, int blockFrames, int steps, long blocks)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(config);
        var c = config;
        string expected = $"[blocks >= {blocks}, steps >= {steps}, {c.LatentChannels}, {blockFrames}, {c.LatentHeight}, {c.LatentWidth}]";
        bool fits = file.DType.IsFloat() && file.Rank == 6 && file.Shape[0] >= blocks && file.Shape[1] >= steps
            && file.Shape[2] == c.LatentChannels && file.Shape[3] == blockFrames && file.Shape[4] == c.LatentHeight && file.Shape[5] == c.LatentWidth;
        if (!fits)
        {
            throw new ArgumentException($"noise {label}: expected a float {expected} array of draws (block, step) for model '{c.Name}', got {file.DType.Name()}{file.Shape}");
        }
        return new NoiseTable(label, ToFloats(file), file.Shape[0], (int)file.Shape[1], blockFrames * c.FrameLatents);
    }

    /// <summary>
    /// One-shot generation's draws: <paramref name="initial"/> [C, F, H, W] is draw (0, 0); the
    /// re-noise before step i is row i - 1 of <paramref name="renoise"/> [steps - 1, C, F, H, W]
    /// when given (at least steps - 1 rows), else <paramref name="fallback"/>'s draw (0, i).
    /// </summary>
    /// <exception cref="ArgumentException">A file of the wrong shape or dtype, or too few re-noise rows; the message names the file, expected and actual shape.</exception>
    public static NoiseTable ForGenerate(Tensor initial, string initialLabel, Tensor? renoise, string? renoiseLabel, DiTConfig config, int frames, int steps, INoiseSource fallback)
    {
        ArgumentNullException.ThrowIfNull(initial);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(fallback);
        var c = config;
        var frame = new Shape(c.LatentChannels, frames, c.LatentHeight, c.LatentWidth);
        if (!initial.DType.IsFloat() || initial.Shape != frame)
        {
            throw new ArgumentException($"noise {initialLabel}: expected the initial noise as a float {frame} array for model '{c.Name}', {frames} frames, got {initial.DType.Name()}{initial.Shape}");
        }
        int n = checked((int)frame.ElementCount);
        if (renoise is null)
        {
            return new NoiseTable(initialLabel, ToFloats(initial), 1, 1, n, fallback);
        }
        string expected = $"[steps - 1 >= {steps - 1}, {c.LatentChannels}, {frames}, {c.LatentHeight}, {c.LatentWidth}]";
        bool fits = renoise.DType.IsFloat() && renoise.Rank == 5 && renoise.Shape[0] >= steps - 1
            && renoise.Shape[1] == c.LatentChannels && renoise.Shape[2] == frames && renoise.Shape[3] == c.LatentHeight && renoise.Shape[4] == c.LatentWidth;
        if (!fits)
        {
            throw new ArgumentException($"noise {renoiseLabel}: expected the re-noise draws as a float {expected} array for model '{c.Name}', got {renoise.DType.Name()}{renoise.Shape}");
        }
        var rows = (int)renoise.Shape[0];
        var draws = new float[(long)(rows + 1) * n];
        ToFloats(initial).CopyTo(draws, 0);
        ToFloats(renoise).CopyTo(draws, n);
        return new NoiseTable($"{initialLabel} + {renoiseLabel}", draws, 1, rows + 1, n);
    }

    private static float[] ToFloats(Tensor t) =>
        t.DType == DType.F32 ? t.ToArray<float>() : t.ToDoubles().Select(v => (float)v).ToArray();
}
