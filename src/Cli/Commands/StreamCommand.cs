using System.CommandLine;
using Spectre.Console;
using Zoetrope.Engine;
using Zoetrope.Quant;
using Zoetrope.Runtime;
using Zoetrope.Runtime.IO;

namespace Zoetrope.Cli.Commands;

/// <summary>
/// <c>zoe stream</c>: block-causal streaming generation with the rolling KV cache: one line per
/// block as it lands, then the metrics (time to first block, latency percentiles, FPS in video
/// frames, KV pool and peak device memory) and the per-op time breakdown.
/// </summary>
public static class StreamCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "tiny, wan-1.3b or wan-14b", DefaultValueFactory = _ => "tiny" };
        var weights = new Option<string?>("--weights") { Description = "a Wan / Self-Forcing safetensors checkpoint (default: seeded random weights)" };
        var text = new Option<string?>("--text") { Description = "prompt embedding [L, text dim] as .npy or .safetensors (default: a seeded random one)" };
        var blocks = new Option<int>("--blocks") { Description = "blocks to generate (3 latent frames each)", DefaultValueFactory = _ => 8 };
        var preset = new Option<string>("--preset") { Description = "self-forcing, longlive or deep-sink", DefaultValueFactory = _ => "longlive" };
        var attention = new Option<string>("--attention") { Description = "dense, sage or sla", DefaultValueFactory = _ => "dense" };
        var linear = new Option<string>("--linear") { Description = "bf16 (the activation dtype), w8a8 (INT8 token x channel), w8a8-block (128x128) or fp8", DefaultValueFactory = _ => "bf16" };
        var backend = new Option<string>("--backend") { Description = "reference, ilgpu-cpu, ilgpu-cuda or cuda", DefaultValueFactory = _ => "reference" };
        var dtype = new Option<string?>("--dtype") { Description = "activation dtype (default: f32 on CPU backends, bf16 on GPUs)" };
        var rope = new Option<string>("--rope") { Description = "absolute or relative (cache-relative, unbounded)", DefaultValueFactory = _ => "absolute" };
        var seed = new Option<ulong>("--seed") { Description = "noise seed", DefaultValueFactory = _ => 42UL };
        var switchAt = new Option<int>("--switch-at") { Description = "switch to --switch-text before this block (0: never)", DefaultValueFactory = _ => 0 };
        var switchText = new Option<string?>("--switch-text") { Description = "the second prompt embedding (default: another seeded random one)" };
        var output = new Option<string?>("--out") { Description = "write the clean latents [16, frames, H, W] f32 as .npy" };
        var profile = new Option<bool>("--no-profile") { Description = "skip the per-op breakdown (no timer per op)" };
        var cmd = new Command("stream", "Stream video latents block by block with the rolling KV cache")
        {
            model, weights, text, blocks, preset, attention, linear, backend, dtype, rope, seed, switchAt, switchText, output, profile,
        };
        cmd.SetAction(r => Guard.Run(() => Run(new Args(
            r.GetValue(model)!, r.GetValue(weights), r.GetValue(text), r.GetValue(blocks), r.GetValue(preset)!, r.GetValue(attention)!,
            r.GetValue(linear)!, r.GetValue(backend)!, r.GetValue(dtype), r.GetValue(rope)!, r.GetValue(seed), r.GetValue(switchAt),
            r.GetValue(switchText), r.GetValue(output), !r.GetValue(profile)))));
        return cmd;
    }

    private sealed record Args(string Model, string? Weights, string? Text, int Blocks, string Preset, string Attention, string Linear,
        string Backend, string? DType, string Rope, ulong Seed, int SwitchAt, string? SwitchText, string? Out, bool Profile);

    private static int Run(Args a)
    {
        if (a.Blocks <= 0)
        {
            throw new ArgumentException($"--blocks {a.Blocks} must be positive");
        }
        var config = DiTConfig.Get(a.Model);
        var backend = Backends.Get(a.Backend);
        bool gpu = backend.Kind is BackendKind.IlgpuCuda or BackendKind.Cuda;
        var options = new ModelOptions
        {
            Activations = a.DType is null ? (gpu ? DType.BF16 : DType.F32) : DTypes.Parse(a.DType),
            Linear = EngineArgs.Linear(a.Linear),
            Attention = EngineArgs.Attention(a.Attention),
        };
        var stream = StreamOptions.Preset(a.Preset) with
        {
            Seed = a.Seed,
            Rope = a.Rope.ToLowerInvariant() switch
            {
                "absolute" => RopePolicy.Absolute,
                "relative" or "cache-relative" => RopePolicy.CacheRelative,
                _ => throw new ArgumentException($"--rope '{a.Rope}': expected absolute or relative"),
            },
        };
        stream.Validate();

        AnsiConsole.MarkupLine($"[bold]zoe stream[/] {Markup.Escape($"model {config.Name} ({config.Layers} layers, dim {config.Dim}, {config.FrameTokens} tokens/frame) on {backend}")}");
        AnsiConsole.MarkupLine(Markup.Escape($"preset {a.Preset}: window {stream.WindowFrames} + sink {stream.SinkFrames} frames, steps [{string.Join(", ", stream.Timesteps.Select(t => t.ToString("0.#")))}], rope {stream.Rope}; " +
            $"{options.Activations.Name()}, linear {options.Linear}, attention {options.Attention}"));
        using var weights = a.Weights is null ? WanWeights.Random(config, a.Seed, DType.F32) : WanWeights.Load(a.Weights, config);
        using var model = new WanModel(backend, weights, options);
        using var prompt = LoadText(a.Text, config, 1);
        backend.ResetPeakBytes();
        using var session = new StreamingSession(model, prompt, stream, a.Profile);
        var latents = new List<float[]>();
        for (int b = 0; b < a.Blocks; b++)
        {
            if (a.SwitchAt > 0 && b == a.SwitchAt)
            {
                using var second = LoadText(a.SwitchText, config, 2);
                double ms = session.SwitchPrompt(second);
                int kept = stream.KeepSinksOnSwitch ? (int)Math.Min(stream.SinkFrames, session.FramesGenerated) : 0;
                AnsiConsole.MarkupLine($"  prompt switch: {session.Cache.Frames.Count - kept} cached frames re-run at t = 0 ({kept} sink frames kept) in {ms:0.0} ms");
            }
            var block = session.GenerateBlock();
            if (a.Out is not null)
            {
                latents.Add(block.Latents);
            }
            AnsiConsole.MarkupLine($"  block {block.Index + 1,4}/{a.Blocks}  frames {block.FirstFrame}..{block.FirstFrame + block.Frames - 1}  {block.LatencyMs,9:0.0} ms  cache {session.Cache.Filled} frames");
        }
        Report(session, backend);
        if (a.Out is not null)
        {
            Npy.Write(a.Out, Tensor.FromArray(LatentFrames.Concat(config, latents), new Shape(config.LatentChannels, session.FramesGenerated, config.LatentHeight, config.LatentWidth), "latents"));
            AnsiConsole.MarkupLine(Markup.Escape($"wrote {a.Out}: f32[{config.LatentChannels}, {session.FramesGenerated}, {config.LatentHeight}, {config.LatentWidth}]"));
        }
        return 0;
    }

    private static void Report(StreamingSession session, Backend backend)
    {
        var m = session.Metrics;
        var table = new Table().Border(TableBorder.Simple).AddColumns("metric", "value");
        table.AddRow("blocks / video frames", $"{m.Blocks} / {m.VideoFrames}");
        table.AddRow("time to first block", $"{m.TimeToFirstBlockMs:0.0} ms");
        table.AddRow("block latency p50 / p99", $"{m.P50Ms:0.0} / {m.P99Ms:0.0} ms");
        table.AddRow("FPS (video frames, DiT only)", $"{m.Fps:0.00}");
        if (m.SwitchMs.Count > 0)
        {
            table.AddRow("prompt switch", $"{m.SwitchMs.Max():0.0} ms");
        }
        table.AddRow("KV pool (all layers)", $"{session.Cache.Bytes / 1048576.0:0.0} MiB");
        table.AddRow("peak device memory (tensors)", $"{backend.PeakBytes / 1048576.0:0.0} MiB");
        AnsiConsole.Write(table);
        if (m.Ops.Count > 0)
        {
            double total = m.Ops.Sum(o => o.Ms);
            var ops = new Table().Border(TableBorder.Simple).AddColumns("op", "calls", "ms", "share");
            foreach (var (op, count, ms) in m.Ops.Take(16))
            {
                ops.AddRow(op, count.ToString(), ms.ToString("0.0"), (ms / total).ToString("P1"));
            }
            AnsiConsole.Write(ops);
        }
    }

    private static Tensor LoadText(string? path, DiTConfig config, int seed)
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
