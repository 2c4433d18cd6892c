using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Zoetrope.Cli.Preflight;
using Zoetrope.Cli.Reporting;
using Zoetrope.Engine;
using Zoetrope.Engine.Decode;
using Zoetrope.Engine.Video;
using Zoetrope.Runtime;
using Zoetrope.Runtime.IO;

namespace Zoetrope.Cli.Commands;

/// <summary>
/// <c>zoe stream</c>: block-causal streaming generation with the rolling KV cache: one line per
/// block as it lands, then the metrics (time to first block, latency percentiles, FPS in video
/// frames, KV pool and peak device memory) and the per-op time breakdown. With <c>--decode</c> /
/// <c>--video</c> each block is decoded as it lands (its decode ms on its line) and written (MP4,
/// Y4M or PNG frames, and a contact sheet), and the metrics add decode latency and the FPS with
/// decoding beside the DiT-only one. Every argument is
/// checked, and the memory the run needs is estimated against what the machine has, before any
/// weight is drawn or loaded.
/// </summary>
public static class StreamCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = EngineArgs.ModelChoices, DefaultValueFactory = _ => "tiny" };
        var weights = new Option<string?>("--weights") { Description = "a Wan / Self-Forcing checkpoint, .safetensors or PyTorch .pt/.pth (default: seeded random weights)" };
        var text = new Option<string?>("--text") { Description = "prompt embedding [L, text dim] as .npy or .safetensors (default: a seeded random one)" };
        var blocks = new Option<int>("--blocks") { Description = "blocks to generate (3 latent frames each), 1 or more", DefaultValueFactory = _ => 8 };
        var preset = new Option<string>("--preset") { Description = EngineArgs.PresetChoices, DefaultValueFactory = _ => "longlive" };
        var attention = new Option<string?>("--attention") { Description = $"{EngineArgs.AttentionChoices} (default: the preset's; dense, turbo: sage-sla)" };
        var linear = new Option<string?>("--linear") { Description = $"{EngineArgs.LinearChoices} (default: the preset's; bf16, turbo: w8a8-block)" };
        var kv = new Option<string>("--kv") { Description = $"KV cache format: {EngineArgs.KvChoices}", DefaultValueFactory = _ => "auto" };
        var backend = new Option<string>("--backend") { Description = EngineArgs.BackendChoices, DefaultValueFactory = _ => "reference" };
        var dtype = new Option<string?>("--dtype") { Description = $"activation dtype: {EngineArgs.DTypeChoices} (default: bf16 on GPUs and under the Sage kernels, f32 otherwise)" };
        var rope = new Option<string>("--rope") { Description = "absolute or relative (cache-relative, unbounded)", DefaultValueFactory = _ => "absolute" };
        var seed = new Option<ulong>("--seed") { Description = "noise seed", DefaultValueFactory = _ => 42UL };
        var steps = new Option<int?>("--steps") { Description = "denoising steps per block, timesteps 1000 (1 - i/steps) before the shift (default: the preset's, [1000, 750, 500, 250])" };
        var timesteps = new Option<string?>("--timesteps") { Description = "the timesteps before the shift, comma-separated, decreasing, in (0, 1000] (default: the preset's)" };
        var shift = new Option<double?>("--shift") { Description = "shift of the timestep warp s' = shift*s / (1 + (shift-1)*s), s = t/1000, applied to --steps/--timesteps (default 5); needs one of them" };
        var noise = new Option<string?>("--noise") { Description = "the noise draws [blocks, steps, 16, block frames (3), H, W] as .npy: a block's initial noise at step 0, the re-noise before step i (default: from --seed)" };
        var switchAt = new Option<int>("--switch-at") { Description = "switch to --switch-text before this block, counted from 0 (0: never; else less than --blocks)", DefaultValueFactory = _ => 0 };
        var match = EngineArgs.MatchOption();
        var recache = new Option<string?>("--recache") { Description = "a prompt switch's re-run: longlive (LongLive 1.0: unmasked, sinks re-run until the cache first evicts) or block-causal (each block sees what it saw, sinks kept) (default: the preset's: longlive for longlive and turbo, block-causal for the others); needs --switch-at" };
        var switchText = new Option<string?>("--switch-text") { Description = "the second prompt embedding (default: another seeded random one); needs --switch-at" };
        var output = new Option<string?>("--out") { Description = "write the clean latents [16, frames, H, W] f32 as .npy (folders are created)" };
        var profile = new Option<bool>("--no-profile") { Description = "skip the per-op breakdown (no timer per op)" };
        var force = new Option<bool>("--force") { Description = "run even when the memory estimate exceeds what the machine has" };
        var cmd = new Command("stream", "Stream video latents block by block with the rolling KV cache")
        {
            model, weights, text, blocks, preset, attention, linear, kv, backend, dtype, rope, seed, steps, timesteps, shift, noise, switchAt, switchText, recache, match, output, profile, force,
        };
        var checkpoint = WeightsArgs.AddTo(cmd);
        var decode = DecodeArgs.AddTo(cmd);
        cmd.SetAction(r => Guard.Run(() => Run(new Args(
            r.GetValue(model)!, r.GetValue(weights), r.GetValue(text), r.GetValue(blocks), r.GetValue(preset)!, r.GetValue(attention),
            r.GetValue(linear), r.GetValue(kv)!, r.GetValue(backend)!, r.GetValue(dtype), r.GetValue(rope)!, r.GetValue(seed), r.GetValue(switchAt),
            r.GetValue(switchText), r.GetValue(output), !r.GetValue(profile), r.GetValue(force), r.GetValue(noise), r.GetValue(steps), r.GetValue(timesteps), r.GetValue(shift), r.GetValue(recache), r.GetValue(match)), checkpoint.Read(r), decode.Read(r))));
        return cmd;
    }

    private sealed record Args(string Model, string? Weights, string? Text, int Blocks, string Preset, string? Attention, string? Linear, string Kv,
        string Backend, string? DType, string Rope, ulong Seed, int SwitchAt, string? SwitchText, string? Out, bool Profile, bool Force, string? Noise, int? Steps, string? Timesteps, double? Shift, string? Recache, string? Match);

    private static int Run(Args a, WeightsArgs.Given checkpoint, DecodeArgs.Given decoding)
    {
        // Every argument, before any work: a mistake costs nothing, however big the model.
        CliArgs.AtLeast(a.Blocks, 1, "--blocks");
        CliArgs.AtLeast(a.SwitchAt, 0, "--switch-at");
        if (a.SwitchAt > 0 && a.SwitchAt >= a.Blocks)
        {
            throw new ArgumentException(
                $"--switch-at {a.SwitchAt}: must be less than --blocks {a.Blocks} (the switch comes before block {a.SwitchAt}, counted from 0; 0 means never)");
        }
        if (a.Recache is not null && a.SwitchAt == 0)
        {
            throw new ArgumentException($"--recache {a.Recache}: given, but --switch-at is 0 (never switches); add --switch-at N with 0 < N < --blocks");
        }
        if (a.SwitchText is not null && a.SwitchAt == 0)
        {
            throw new ArgumentException($"--switch-text {a.SwitchText}: given, but --switch-at is 0 (never switches); add --switch-at N with 0 < N < --blocks");
        }
        var config = EngineArgs.Model(a.Model);
        var kind = EngineArgs.Backend(a.Backend);
        var ropePolicy = EngineArgs.Rope(a.Rope);
        DType? dtype = a.DType is null ? null : EngineArgs.Activations(a.DType);
        var stream = EngineArgs.Preset(a.Preset) with { Seed = a.Seed, Rope = ropePolicy };
        if (a.Recache is not null)
        {
            stream = EngineArgs.Recache(stream, a.Recache);
        }
        if (a.Shift is double given && a.Steps is null && a.Timesteps is null)
        {
            throw new ArgumentException($"--shift {given.ToString(CultureInfo.InvariantCulture)}: warps --steps or --timesteps; the preset's timesteps are already warped (give one of them)");
        }
        if (a.Steps is not null || a.Timesteps is not null)
        {
            double shift = a.Shift ?? 5.0;
            if (!(shift > 0) || double.IsInfinity(shift))
            {
                throw new ArgumentException($"--shift {shift.ToString(CultureInfo.InvariantCulture)}: must be a positive number");
            }
            stream = stream with { Timesteps = StreamOptions.Warp(EngineArgs.Timesteps(a.Timesteps, a.Steps), shift), Shift = shift };
        }
        stream.Validate();
        var options = EngineArgs.Options(a.Preset, a.Attention, a.Linear, a.Kv, dtype, kind, a.Match);
        if (options.KvFormat == KvFormat.Int8 && !KvCache.StoresRotatedUnder(stream))
        {
            throw new ArgumentException($"--kv int8 --rope {EngineArgs.Label(stream.Rope)}: the INT8 cache stores keys rotated once, when written; use --rope absolute (and a preset without sink re-alignment) or --kv float");
        }
        string? weightsPath = a.Weights is null ? null : CliArgs.InputFile(a.Weights, "--weights");
        var checkpointOptions = checkpoint.Options(weightsPath);
        string? textPath = a.Text is null ? null : CliArgs.InputFile(a.Text, "--text");
        string? switchPath = a.SwitchText is null ? null : CliArgs.InputFile(a.SwitchText, "--switch-text");
        string? outPath = a.Out is null ? null : CliArgs.OutputFile(a.Out, "--out");
        string? noisePath = a.Noise is null ? null : CliArgs.InputFile(a.Noise, "--noise");
        // The noise file is read and its shape checked against --blocks and the steps now, before any work.
        NoiseTable? noise = null;
        if (noisePath is not null)
        {
            using var draws = Npy.Read(noisePath);
            noise = NoiseTable.ForStream(draws, noisePath, config, stream.BlockFrames, stream.Timesteps.Count, a.Blocks);
        }
        // The decoder and the video: names, files and folders checked, the sink opened (a frames folder
        // holding old frames refused, a missing ffmpeg said), before any work.
        var decodePlan = decoding.Check();
        using var sink = decodePlan?.OpenSink();

        var backend = Backends.Get(kind);
        var console = AnsiConsole.Console;
        console.MarkupLine($"[bold]zoe stream[/] {Markup.Escape($"model {config.Name} ({config.Layers} layers, dim {config.Dim}, {config.FrameTokens} tokens/frame) on {backend}")}");
        console.MarkupLine(Markup.Escape($"preset {a.Preset.ToLowerInvariant()}: cache {stream.CacheFrames} frames ({stream.SinkFrames} sink + last {stream.WindowFrames}), recache {EngineArgs.Label(stream)}, steps [{string.Join(", ", stream.Timesteps.Select(t => t.ToString("0.#", CultureInfo.InvariantCulture)))}], rope {EngineArgs.Label(stream.Rope)}; " +
            $"{options.Activations.Name()}, linear {EngineArgs.Label(options.Linear)}, attention {EngineArgs.Label(options.Attention)}{(options.Attention is AttentionMode.Sla or AttentionMode.SageSla ? FormattableString.Invariant($" top-k {options.SparseRatio:0.##}") : "")}, kv {EngineArgs.Label(options.KvFormat)}, match {EngineArgs.Label(options.Match)}"));
        console.MarkupLine(Markup.Escape($"noise from {noise?.Description ?? $"seed {a.Seed}"}"));
        bool rotatesOnRead = !KvCache.StoresRotatedUnder(stream);
        console.MarkupLine(Markup.Escape($"KV cache per latent frame ({config.Name}, all layers): {EngineArgs.KvPerFrame(config, options.Activations, rotatesOnRead)}; this run: {EngineArgs.Label(options.KvFormat)}"));
        if (decodePlan is not null)
        {
            console.MarkupLine(Markup.Escape(decodePlan.Describe()));
        }

        // Memory, before anything is drawn, loaded or allocated.
        var estimate = MemoryEstimate.For(config, options, stream, kind, weightsPath is null ? null : WeightsArgs.CheckpointBytes(weightsPath, checkpointOptions), promptSwitch: a.SwitchAt > 0)
            with { Decoder = decodePlan?.Memory(config, options.Activations, stream.BlockFrames, kind) };
        MemoryPreflight.Check(console, estimate, MemoryPreflight.Detect(backend), a.Force, $"zoe stream --model {config.Name} on {kind.Label()}");

        // The decoder first: a bad decoder weights file fails before the DiT's weights are read.
        using var decoder = decodePlan is null ? null
            : WorkProgress.Run(console, $"opening the {VideoDecoders.Name(decodePlan.Kind)} decoder", _ => decodePlan.OpenDecoder(backend, config, options.Activations, a.Seed));
        var blockDecoder = decoder is null ? null : new BlockDecoder(decoder, sink);
        var sheet = decodePlan?.SheetWithoutVideo();
        var build = Stopwatch.StartNew();
        using var weights = WorkProgress.Run(console, weightsPath is null ? "drawing random weights" : $"loading {Path.GetFileName(weightsPath)}",
            p => weightsPath is null ? WanWeights.Random(config, a.Seed, DType.F32, p) : WanWeights.Load(weightsPath, config, p, checkpointOptions));
        WeightsArgs.Report(console, weights);
        using var model = WorkProgress.Run(console, $"building the model on {kind.Label()}", p => new WanModel(backend, weights, options, MemoryPreflight.CollectingEach(p)));
        MemoryPreflight.Collect();
        EngineArgs.Warn(console, model);
        console.MarkupLine(Markup.Escape(FormattableString.Invariant(
            $"model built in {build.Elapsed.TotalSeconds:0.0} s: {(weightsPath is null ? "seeded random weights" : weightsPath)}, {MemoryPreflight.Bytes(estimate.BackendWeights)} on {kind.Label()}")));
        using var prompt = LoadText(textPath, config, 1);
        backend.ResetPeakBytes();
        using var session = WorkProgress.Run(console, "encoding the prompt", _ => new StreamingSession(model, prompt, stream, a.Profile, noise));
        MemoryPreflight.Collect();
        var latents = new List<float[]>();
        // Frame ranges padded to the widest one, so the columns after them stay aligned.
        int frameWidth = $"{(a.Blocks * stream.BlockFrames) - stream.BlockFrames}..{(a.Blocks * stream.BlockFrames) - 1}".Length;
        int blockWidth = a.Blocks.ToString(CultureInfo.InvariantCulture).Length;
        int forwards = stream.Timesteps.Count + (stream.KvWrite == KvWriteMode.CleanRerun ? 1 : 0);
        for (int b = 0; b < a.Blocks; b++)
        {
            if (a.SwitchAt > 0 && b == a.SwitchAt)
            {
                using var second = LoadText(switchPath, config, 2);
                int kept = session.SinksKeptOnSwitch;
                double ms = WorkProgress.Run(console, "switching the prompt", _ => session.SwitchPrompt(second));
                console.MarkupLine(Markup.Escape(FormattableString.Invariant($"  prompt switch: {session.Cache.Frames.Count - kept} cached frames re-run at t = 0 ({kept} sink frames kept) in {ms:0.0} ms")));
            }
            var block = WorkProgress.Run(console, $"block {b + 1}/{a.Blocks}", p =>
            {
                int done = 0;
                void Step(StepTrace _) => p.Report(++done / (double)forwards);
                session.Step += Step;
                try
                {
                    return session.GenerateBlock();
                }
                finally
                {
                    session.Step -= Step;
                }
            });
            if (outPath is not null)
            {
                latents.Add(block.Latents);
            }
            string decoded = string.Empty;
            if (blockDecoder is not null)
            {
                var video = WorkProgress.Run(console, $"decoding block {b + 1}/{a.Blocks}", _ => blockDecoder.Decode(block));
                sheet?.Add(block.Index, video.Frames);
                decoded = FormattableString.Invariant($"  decode {video.DecodeMs,9:0.0} ms ({video.Frames.Count} video frames)");
            }
            string frames = $"{block.FirstFrame}..{block.FirstFrame + block.Frames - 1}";
            console.MarkupLine(Markup.Escape(FormattableString.Invariant(
                $"  block {(block.Index + 1).ToString(CultureInfo.InvariantCulture).PadLeft(blockWidth)}/{a.Blocks}  frames {frames.PadRight(frameWidth)}  {block.LatencyMs,9:0.0} ms  cache {session.Cache.Filled} frames{decoded}")));
        }
        if (sink is not null)
        {
            WorkProgress.Run(console, "finishing the video", _ => sink.Complete());
        }
        if (sheet is not null)
        {
            sheet.Write(decodePlan!.ContactSheet!);
        }
        Report(console, session, backend, estimate, blockDecoder?.Metrics, decoder?.Name);
        if (sink is not null)
        {
            console.MarkupLine(Markup.Escape(FormattableString.Invariant(
                $"wrote {sink.Path}: {sink.Frames} frames of {sink.Width}x{sink.Height}{(sink.Format == VideoFormat.PngFrames ? " as PNG" : $" at {decodePlan!.Fps} fps")}{(sink.Encoder is null ? "" : $" ({sink.Encoder})")}")));
        }
        if (decodePlan?.ContactSheet is { } sheetPath)
        {
            console.MarkupLine(Markup.Escape($"wrote {sheetPath}: the first frame of every block"));
        }
        if (outPath is not null)
        {
            Npy.Write(outPath, Tensor.FromArray(LatentFrames.Concat(config, latents), new Shape(config.LatentChannels, session.FramesGenerated, config.LatentHeight, config.LatentWidth), "latents"));
            console.MarkupLine(Markup.Escape($"wrote {outPath}: f32[{config.LatentChannels}, {session.FramesGenerated}, {config.LatentHeight}, {config.LatentWidth}]"));
        }
        return 0;
    }

    private static void Report(IAnsiConsole console, StreamingSession session, Backend backend, MemoryEstimate estimate, DecodeMetrics? decode, string? decoder)
    {
        var m = session.Metrics;
        var table = new Table().Border(TableBorder.Simple).AddColumns("metric", "value");
        table.AddRow("blocks / video frames", $"{m.Blocks} / {m.VideoFrames}");
        table.AddRow("time to first block", FormattableString.Invariant($"{m.TimeToFirstBlockMs:0.0} ms"));
        table.AddRow("block latency p50 / p99", FormattableString.Invariant($"{m.P50Ms:0.0} / {m.P99Ms:0.0} ms"));
        table.AddRow("FPS (video frames, DiT only)", FormattableString.Invariant($"{m.Fps:0.00}"));
        if (decode is not null)
        {
            table.AddRow($"decode per block p50 / p99 ({decoder})", FormattableString.Invariant($"{decode.P50Ms:0.0} / {decode.P99Ms:0.0} ms"));
            table.AddRow("FPS with decoding (generation + decode)", FormattableString.Invariant($"{decode.FpsWithGeneration(m.GenerationMs):0.00}"));
            table.AddRow("decoder alone (video frames / decode time)", FormattableString.Invariant($"{decode.DecodeFps:0.00} FPS"));
            if (decode.WriteMs > 0)
            {
                table.AddRow("video writing (encoding included)", FormattableString.Invariant($"{decode.WriteMs:0.0} ms"));
            }
        }
        if (m.SwitchMs.Count > 0)
        {
            table.AddRow("prompt switch", FormattableString.Invariant($"{m.SwitchMs.Max():0.0} ms"));
        }
        table.AddRow("KV pool (all layers)", MemoryPreflight.Bytes(session.Cache.Bytes));
        table.AddRow("peak device memory (tensors)", MemoryPreflight.Bytes(backend.PeakBytes));
        // The measured peak beside the preflight's estimate, so a user sees how far to trust it.
        if (PeakResident() is long peak)
        {
            table.AddRow("peak process memory (VmHWM)", $"{MemoryPreflight.Bytes(peak)} (estimated {MemoryPreflight.Bytes(estimate.HostBytes)})");
        }
        console.Write(table);
        if (m.Ops.Count > 0)
        {
            double total = m.Ops.Sum(o => o.Ms);
            var ops = new Table().Border(TableBorder.Simple).AddColumns("op", "calls", "ms", "share");
            foreach (var (op, count, ms) in m.Ops.Take(16))
            {
                ops.AddRow(op, count.ToString(CultureInfo.InvariantCulture), ms.ToString("0.0", CultureInfo.InvariantCulture), (ms / total).ToString("P1", CultureInfo.InvariantCulture));
            }
            console.Write(ops);
        }
    }

    // The process's peak resident set (Linux), or null where /proc is not there.
    internal static long? PeakResident()
    {
        try
        {
            string? line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return line is null ? null : long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    internal static Tensor LoadText(string? path, DiTConfig config, int seed)
    {
        if (path is null)
        {
            return GaussianNoise.Sample((ulong)seed, new Shape(config.TextTokens, config.TextDim), $"random_text{seed}");
        }
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            using var file = SafeTensorsFile.Open(path);
            if (file.Names.Count != 1)
            {
                throw new ArgumentException($"{path}: a prompt file holds one tensor [L, {config.TextDim}]; it has {file.Names.Count}: {string.Join(", ", file.Names.Take(8))}");
            }
            return file.Load(file.Names[0]);
        }
        return Npy.Read(path);
    }
}
