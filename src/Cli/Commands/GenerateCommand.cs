using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Zoetrope.Cli.Preflight;
using Zoetrope.Cli.Reporting;
using Zoetrope.Engine;
using Zoetrope.Runtime;
using Zoetrope.Runtime.IO;

namespace Zoetrope.Cli.Commands;

/// <summary>
/// <c>zoe generate</c>: one-shot bidirectional generation (TurboDiffusion's workload): F latent
/// frames denoised together in a few steps with the stream's model, kernels and sampler
/// (<see cref="OneShotGenerator"/>). The noise comes from the seed or from .npy files, so a
/// PyTorch implementation fed the same weights, prompt and noise can be compared latent for
/// latent; the report gives each step's time, the total, frames and tokens. Every argument and
/// noise file is checked, and the memory estimated, before any weight is drawn or loaded.
/// </summary>
public static class GenerateCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = EngineArgs.ModelChoices, DefaultValueFactory = _ => "tiny" };
        var weights = new Option<string?>("--weights") { Description = "a Wan checkpoint, .safetensors or PyTorch .pt/.pth (default: seeded random weights)" };
        var text = new Option<string?>("--text") { Description = "prompt embedding [L, text dim] as .npy or .safetensors (default: a seeded random one)" };
        var frames = new Option<int>("--frames") { Description = $"latent frames generated together (default {GenerateOptions.DefaultFrames}: 81 video frames)", DefaultValueFactory = _ => GenerateOptions.DefaultFrames };
        var steps = new Option<int?>("--steps") { Description = "denoising steps, timesteps 1000 (1 - i/steps) before the shift (default 4)" };
        var timesteps = new Option<string?>("--timesteps") { Description = "the timesteps before the shift, comma-separated, decreasing, in (0, 1000] (e.g. 1000,750,500,250)" };
        var shift = new Option<double>("--shift") { Description = "shift of the timestep warp s' = shift*s / (1 + (shift-1)*s), s = t/1000 (1: none)", DefaultValueFactory = _ => GenerateOptions.DefaultShift };
        var seed = new Option<ulong>("--seed") { Description = "noise seed (the draws no file gives) and the seed of random weights", DefaultValueFactory = _ => 42UL };
        var noise = new Option<string?>("--noise") { Description = "the initial noise [16, frames, H, W] as .npy (default: from the seed)" };
        var renoise = new Option<string?>("--renoise") { Description = "the re-noise draws [steps-1, 16, frames, H, W] as .npy, row i-1 before step i (default: from the seed); needs --noise" };
        var preset = new Option<string>("--preset") { Description = "kernel preset: none (dense attention, bf16 linears) or turbo (TurboDiffusion's: sage-sla top-k 0.1, w8a8-block, bf16)", DefaultValueFactory = _ => "none" };
        var attention = new Option<string?>("--attention") { Description = $"{EngineArgs.AttentionChoices} (default: the preset's)" };
        var linear = new Option<string?>("--linear") { Description = $"{EngineArgs.LinearChoices} (default: the preset's)" };
        var backend = new Option<string>("--backend") { Description = EngineArgs.BackendChoices, DefaultValueFactory = _ => "reference" };
        var dtype = new Option<string?>("--dtype") { Description = $"activation dtype: {EngineArgs.DTypeChoices} (default: bf16 on GPUs and under the Sage kernels, f32 otherwise)" };
        var output = new Option<string?>("--out") { Description = "write the clean latents [16, frames, H, W] f32 as .npy (folders are created)" };
        var force = new Option<bool>("--force") { Description = "run even when the memory estimate exceeds what the machine has" };
        var match = EngineArgs.MatchOption();
        var cmd = new Command("generate", "Generate a clip's latents in one bidirectional few-step pass (TurboDiffusion's workload)")
        {
            model, weights, text, frames, steps, timesteps, shift, seed, noise, renoise, preset, attention, linear, backend, dtype, match, output, force,
        };
        var checkpoint = WeightsArgs.AddTo(cmd);
        cmd.SetAction(r => Guard.Run(() => Run(new Args(
            r.GetValue(model)!, r.GetValue(weights), r.GetValue(text), r.GetValue(frames), r.GetValue(steps), r.GetValue(timesteps), r.GetValue(shift),
            r.GetValue(seed), r.GetValue(noise), r.GetValue(renoise), r.GetValue(preset)!, r.GetValue(attention), r.GetValue(linear), r.GetValue(backend)!,
            r.GetValue(dtype), r.GetValue(output), r.GetValue(force), r.GetValue(match)), checkpoint.Read(r))));
        return cmd;
    }


    private sealed record Args(string Model, string? Weights, string? Text, int Frames, int? Steps, string? Timesteps, double Shift, ulong Seed,
        string? Noise, string? Renoise, string Preset, string? Attention, string? Linear, string Backend, string? DType, string? Out, bool Force, string? Match);

    private static int Run(Args a, WeightsArgs.Given checkpoint)
    {
        // Every argument, before any work: a mistake costs nothing, however big the model.
        CliArgs.AtLeast(a.Frames, 1, "--frames");
        var raw = EngineArgs.Timesteps(a.Timesteps, a.Steps);
        if (!(a.Shift > 0) || double.IsInfinity(a.Shift))
        {
            throw new ArgumentException($"--shift {a.Shift.ToString(CultureInfo.InvariantCulture)}: must be a positive number");
        }
        if (a.Renoise is not null && a.Noise is null)
        {
            throw new ArgumentException($"--renoise {a.Renoise}: needs --noise (the initial noise); the re-noise draws alone would mix a file with the seed's initial draw");
        }
        var config = EngineArgs.Model(a.Model);
        var kind = EngineArgs.Backend(a.Backend);
        DType? dtype = a.DType is null ? null : EngineArgs.Activations(a.DType);
        if (a.Preset.ToLowerInvariant() is not ("none" or "turbo"))
        {
            throw new ArgumentException($"--preset {a.Preset}: unknown; expected none or turbo");
        }
        var options = EngineArgs.Options(a.Preset, a.Attention, a.Linear, null, dtype, kind, a.Match);
        var generate = new GenerateOptions { Frames = a.Frames, Timesteps = StreamOptions.Warp(raw, a.Shift), Shift = a.Shift, Seed = a.Seed };
        generate.Validate();
        string? weightsPath = a.Weights is null ? null : CliArgs.InputFile(a.Weights, "--weights");
        var checkpointOptions = checkpoint.Options(weightsPath);
        string? textPath = a.Text is null ? null : CliArgs.InputFile(a.Text, "--text");
        string? noisePath = a.Noise is null ? null : CliArgs.InputFile(a.Noise, "--noise");
        string? renoisePath = a.Renoise is null ? null : CliArgs.InputFile(a.Renoise, "--renoise");
        string? outPath = a.Out is null ? null : CliArgs.OutputFile(a.Out, "--out");
        int steps = generate.Timesteps.Count;
        var noise = ReadNoise(noisePath, renoisePath, config, generate);

        var backend = Backends.Get(kind);
        long tokens = (long)generate.Frames * config.FrameTokens;
        var console = AnsiConsole.Console;
        console.MarkupLine($"[bold]zoe generate[/] {Markup.Escape($"model {config.Name} ({config.Layers} layers, dim {config.Dim}, {config.FrameTokens} tokens/frame) on {backend}")}");
        console.MarkupLine(Markup.Escape(FormattableString.Invariant(
            $"{generate.Frames} latent frames ({generate.VideoFrames} video frames, {tokens} tokens per forward), {steps} steps [{string.Join(", ", generate.Timesteps.Select(t => t.ToString("0.#", CultureInfo.InvariantCulture)))}] (shift {a.Shift:0.###}); ") +
            $"{options.Activations.Name()}, linear {EngineArgs.Label(options.Linear)}, attention {EngineArgs.Label(options.Attention)}"));
        console.MarkupLine(Markup.Escape($"noise: initial from {noisePath ?? $"seed {a.Seed}"}, {Renoise(renoisePath, a.Seed, steps)}"));

        // Memory, before anything is drawn, loaded or allocated.
        var estimate = MemoryEstimate.ForGenerate(config, options, generate.Frames, kind, weightsPath is null ? null : WeightsArgs.CheckpointBytes(weightsPath, checkpointOptions));
        MemoryPreflight.Check(console, estimate, MemoryPreflight.Detect(backend), a.Force, $"zoe generate --model {config.Name} --frames {generate.Frames} on {kind.Label()}");

        var build = Stopwatch.StartNew();
        using var weights = WorkProgress.Run(console, weightsPath is null ? "drawing random weights" : $"loading {Path.GetFileName(weightsPath)}",
            p => weightsPath is null ? WanWeights.Random(config, a.Seed, DType.F32, p) : WanWeights.Load(weightsPath, config, p, checkpointOptions));
        WeightsArgs.Report(console, weights);
        using var model = WorkProgress.Run(console, $"building the model on {kind.Label()}", p => new WanModel(backend, weights, options, MemoryPreflight.CollectingEach(p)));
        EngineArgs.Warn(console, model);
        MemoryPreflight.Collect();
        console.MarkupLine(Markup.Escape(FormattableString.Invariant(
            $"model built in {build.Elapsed.TotalSeconds:0.0} s: {(weightsPath is null ? "seeded random weights" : weightsPath)}, {MemoryPreflight.Bytes(estimate.BackendWeights)} on {kind.Label()}")));
        using var prompt = StreamCommand.LoadText(textPath, config, 1);
        backend.ResetPeakBytes();
        var generator = new OneShotGenerator(model, generate, noise);
        var result = WorkProgress.Run(console, $"generating {generate.Frames} frames in {steps} steps", p =>
        {
            int done = 0;
            void Step(StepTrace _) => p.Report(++done / (double)steps);
            generator.Step += Step;
            try
            {
                return generator.Generate(prompt);
            }
            finally
            {
                generator.Step -= Step;
            }
        });
        Report(console, result, generate, backend, estimate);
        if (outPath is not null)
        {
            Npy.Write(outPath, Tensor.FromArray(result.Latents, new Shape(config.LatentChannels, generate.Frames, config.LatentHeight, config.LatentWidth), "latents"));
            console.MarkupLine(Markup.Escape($"wrote {outPath}: f32[{config.LatentChannels}, {generate.Frames}, {config.LatentHeight}, {config.LatentWidth}]"));
        }
        return 0;
    }

    // Where the re-noise draws come from, in the header's words.
    private static string Renoise(string? path, ulong seed, int steps) =>
        steps == 1 ? "no re-noise (one step)" : path is not null ? $"re-noise from {path}" : $"re-noise from seed {seed}";

    // The noise files, read and checked against the run's shape before any work (null: the seed's).
    private static INoiseSource? ReadNoise(string? noisePath, string? renoisePath, DiTConfig config, GenerateOptions generate)
    {
        if (noisePath is null)
        {
            return null;
        }
        using var initial = Npy.Read(noisePath);
        using var renoise = renoisePath is null ? null : Npy.Read(renoisePath);
        return NoiseTable.ForGenerate(initial, noisePath, renoise, renoisePath, config, generate.Frames, generate.Timesteps.Count, new SeededNoise(generate.Seed));
    }

    private static void Report(IAnsiConsole console, GeneratedLatents result, GenerateOptions generate, Backend backend, MemoryEstimate estimate)
    {
        var steps = new Table().Border(TableBorder.Simple).AddColumns("step", "t", "ms");
        for (int i = 0; i < result.StepMs.Count; i++)
        {
            steps.AddRow((i + 1).ToString(CultureInfo.InvariantCulture), generate.Timesteps[i].ToString("0.#", CultureInfo.InvariantCulture),
                result.StepMs[i].ToString("0.0", CultureInfo.InvariantCulture));
        }
        console.Write(steps);
        var table = new Table().Border(TableBorder.Simple).AddColumns("metric", "value");
        table.AddRow("latent / video frames", $"{result.Frames} / {generate.VideoFrames}");
        table.AddRow("tokens per forward", result.Tokens.ToString(CultureInfo.InvariantCulture));
        table.AddRow("prompt encoding", FormattableString.Invariant($"{result.EncodeMs:0.0} ms"));
        table.AddRow("generation (DiT only, all steps)", FormattableString.Invariant($"{result.TotalMs / 1000:0.000} s"));
        table.AddRow("peak device memory (tensors)", MemoryPreflight.Bytes(backend.PeakBytes));
        if (StreamCommand.PeakResident() is long peak)
        {
            table.AddRow("peak process memory (VmHWM)", $"{MemoryPreflight.Bytes(peak)} (estimated {MemoryPreflight.Bytes(estimate.HostBytes)})");
        }
        console.Write(table);
    }
}
