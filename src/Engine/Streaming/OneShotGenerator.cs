// OneShotGenerator: TurboDiffusion's workload on the streaming engine's model and kernels: one
// bidirectional generation of F latent frames (F x FrameTokens tokens in every forward, no KV
// cache, no mask) in a few steps of the sampler the stream uses (FlowSampler):
//   x = draw (0, 0);  for each step i: v = model(x, t_i for every frame);  x0 = x - s_i v
//                                      x = (1 - s_{i+1}) x0 + s_{i+1} * draw (0, i + 1)
// The latents are the last x0. Each step's wall time is measured after the model's output has
// come back to the host (which waits for the backend), so the times are the device's.
using System.Diagnostics;
using Zoetrope.Attention.Flash;

namespace Zoetrope.Engine;

/// <summary>One-shot bidirectional generation of a whole clip's latents.</summary>
public sealed class OneShotGenerator
{
    private readonly WanModel _model;

    /// <summary>
    /// A generator over <paramref name="model"/> with <paramref name="options"/> (default: 21 frames,
    /// 4 steps); the draws come from <paramref name="noise"/>, or from the options' seed when null.
    /// </summary>
    /// <exception cref="ArgumentException">Inconsistent options, or a noise source whose draws are not F frames long or too few for the steps.</exception>
    public OneShotGenerator(WanModel model, GenerateOptions? options = null, INoiseSource? noise = null)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        Options = options ?? new GenerateOptions();
        Options.Validate();
        Noise = noise ?? new SeededNoise(Options.Seed);
        int length = DrawLength(model.Config, Options.Frames);
        if (Noise.DrawLength is int given && given != length)
        {
            throw new ArgumentException($"generate: noise {Noise.Description} has draws of {given} floats; {Options.Frames} frames of '{model.Config.Name}' need {length}", nameof(noise));
        }
        if (!Noise.Has(0, Options.Timesteps.Count - 1))
        {
            throw new ArgumentException($"generate: noise {Noise.Description} holds fewer draws than the {Options.Timesteps.Count} steps need", nameof(noise));
        }
    }

    /// <summary>Raised after every model forward (Block 0, FirstFrame 0; the arrays are copies).</summary>
    public event Action<StepTrace>? Step;

    /// <summary>Frames, timesteps, seed.</summary>
    public GenerateOptions Options { get; }

    /// <summary>Where the initial and re-noise draws come from.</summary>
    public INoiseSource Noise { get; }

    /// <summary>Tokens in every forward: frames x tokens per frame.</summary>
    public long Tokens => (long)Options.Frames * _model.Config.FrameTokens;

    /// <summary>Floats in one draw (and in the latents): C x F x H x W.</summary>
    public static int DrawLength(DiTConfig config, int frames)
    {
        ArgumentNullException.ThrowIfNull(config);
        return checked(frames * config.FrameLatents);
    }

    /// <summary>Encodes <paramref name="text"/> ([L, TextDim]) and generates under it; the encoding's time is reported apart.</summary>
    /// <exception cref="ArgumentException">A bad embedding (named), before any step.</exception>
    public GeneratedLatents Generate(Tensor text)
    {
        long t0 = Stopwatch.GetTimestamp();
        using var context = _model.EncodeText(text);
        _model.Backend.Synchronize();
        double encode = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        return Generate(context) with { EncodeMs = encode };
    }

    /// <summary>Generates the latents [C, F, H, W] under an encoded prompt <paramref name="text"/>.</summary>
    public GeneratedLatents Generate(TextContext text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int f = Options.Frames;
        var schedule = _model.Options.Match == MatchMode.Reference ? FlowSchedule.Torch(Options.Shift) : null;
        var steps = schedule?.ModelTimesteps(Options.Timesteps) ?? Options.Timesteps;
        var attention = new FullSequenceAttention(_model, AttentionMask.None);
        var x = new float[DrawLength(_model.Config, f)];
        var stepMs = new double[steps.Count];
        Noise.Fill(0, 0, x);
        long start = Stopwatch.GetTimestamp();
        long stepStart = start;
        var x0 = FlowSampler.Run(steps, x,
            (i, input) =>
            {
                var v = _model.Forward(input, f, Enumerable.Repeat(steps[i], f).ToArray(), text, attention);
                Step?.Invoke(new StepTrace(0, i, 0, steps[i], (float[])input.Clone(), v));
                return v;
            },
            (i, noise) => Noise.Fill(0, i, noise),
            i =>
            {
                long now = Stopwatch.GetTimestamp();
                stepMs[i] = Stopwatch.GetElapsedTime(stepStart, now).TotalMilliseconds;
                stepStart = now;
            },
            schedule);
        _model.Backend.Synchronize();
        double total = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        return new GeneratedLatents(x0, f, Tokens, stepMs, total, 0);
    }
}

/// <summary>The result of one one-shot generation.</summary>
/// <param name="Latents">The clean latents [C, Frames, H, W], f32.</param>
/// <param name="Frames">Latent frames.</param>
/// <param name="Tokens">Tokens in every forward.</param>
/// <param name="StepMs">Wall time of each step (its forward and update, the draw for the next step included), ms.</param>
/// <param name="TotalMs">Wall time of all the steps together, ms (neither the initial draw nor the prompt's encoding).</param>
/// <param name="EncodeMs">Wall time of the prompt's encoding when the generator did it, else 0.</param>
public sealed record GeneratedLatents(float[] Latents, int Frames, long Tokens, IReadOnlyList<double> StepMs, double TotalMs, double EncodeMs);
