using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Zoetrope.Cli.Preflight;
using Zoetrope.Cli.Reporting;
using Zoetrope.Engine;
using Zoetrope.Engine.Decode;
using Zoetrope.Engine.Video;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Results;

namespace Zoetrope.Cli.Commands;

/// <summary>
/// <c>zoe profile</c>: the per-op breakdown of a streaming block: for each op, calls and time per
/// block, share of the block, achieved FLOP/s and GB/s (from each call's cost model) and the
/// fraction of the chip's ceilings measured in the same run. On GPUs each op call is also an
/// NVTX range (when libnvToolsExt is present), so `nsys profile zoe profile ...` shows op names.
/// A fraction is shown only where it means something: not on the reference backend (scalar
/// oracle code, no roofline), not on the emulated device (it counts, it does not time), and not
/// for an op that beats the measured ceiling (then that ceiling is no bound for it). With
/// <c>--decode wan|tiny</c> each block is also decoded (in order, the decoder's cache warm like
/// the DiT's), and the decoder gets its own per-block decode time and per-op table.
/// </summary>
public static class ProfileCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = EngineArgs.ModelChoices, DefaultValueFactory = _ => "tiny" };
        var blocks = new Option<int>("--blocks") { Description = "profiled blocks (after the cache is warm), 1 or more", DefaultValueFactory = _ => 2 };
        var backend = new Option<string>("--backend") { Description = EngineArgs.BackendChoices, DefaultValueFactory = _ => "reference" };
        var attention = new Option<string?>("--attention") { Description = $"{EngineArgs.AttentionChoices} (default: the preset's; dense, turbo: sage-sla)" };
        var linear = new Option<string?>("--linear") { Description = $"{EngineArgs.LinearChoices} (default: the preset's; bf16, turbo: w8a8-block)" };
        var kv = new Option<string>("--kv") { Description = $"KV cache format: {EngineArgs.KvChoices}", DefaultValueFactory = _ => "auto" };
        var preset = new Option<string>("--preset") { Description = EngineArgs.PresetChoices, DefaultValueFactory = _ => "longlive" };
        var force = new Option<bool>("--force") { Description = "run even when the memory estimate exceeds what the machine has" };
        var decode = new Option<string?>("--decode") { Description = $"also decode every block and profile the decoder: {VideoDecoders.Choices} (seeded random weights)" };
        var cmd = new Command("profile", "Per-op time breakdown of streaming blocks, with achieved fraction of the ceilings")
        {
            model, blocks, backend, attention, linear, kv, preset, force, decode,
        };
        cmd.SetAction(r => Guard.Run(() => Run(r.GetValue(model)!, r.GetValue(blocks), r.GetValue(backend)!, r.GetValue(attention),
            r.GetValue(linear), r.GetValue(kv)!, r.GetValue(preset)!, r.GetValue(force), r.GetValue(decode))));
        return cmd;
    }

    private static int Run(string modelName, int blocks, string backendName, string? attention, string? linear, string kv, string presetName, bool force, string? decodeName)
    {
        // Every argument before any work (the ceilings alone take seconds).
        CliArgs.AtLeast(blocks, 1, "--blocks");
        DecoderKind? decodeKind = null;
        if (decodeName is not null)
        {
            try
            {
                decodeKind = VideoDecoders.Parse(decodeName);
            }
            catch (ArgumentException)
            {
                throw new ArgumentException($"--decode {decodeName}: unknown; expected {VideoDecoders.Choices}");
            }
        }
        var config = EngineArgs.Model(modelName);
        var kind = EngineArgs.Backend(backendName);
        var preset = EngineArgs.Preset(presetName);
        var options = EngineArgs.Options(presetName, attention, linear, kv, null, kind);
        var backend = Backends.Get(kind);
        var console = AnsiConsole.Console;
        int warm = preset.BlocksToFillCache;
        console.MarkupLine(Markup.Escape(
            $"zoe profile: {config.Name} {presetName.ToLowerInvariant()} on {backend}, {options.Activations.Name()}, attention {EngineArgs.Label(options.Attention)}, linear {EngineArgs.Label(options.Linear)}, kv {EngineArgs.Label(options.KvFormat)}, {blocks} block{(blocks == 1 ? "" : "s")} after {warm} warm-up"));
        var estimate = MemoryEstimate.For(config, options, preset, kind)
            with { Decoder = decodeKind is DecoderKind d ? DecoderMemory.For(d, config, options.Activations, preset.BlockFrames, kind) : null };
        MemoryPreflight.Check(console, estimate, MemoryPreflight.Detect(backend), force, $"zoe profile --model {config.Name} on {kind.Label()}");

        // Ceilings only where a fraction of them means something (see the class remarks).
        string? noCeiling = kind == BackendKind.Reference
            ? "reference is the scalar oracle, not a tuned kernel: it has no ceiling to be a fraction of"
            : kind.IsEmulated() ? "the emulated device counts, it does not time: no ceiling" : null;
        var ceilings = noCeiling is null ? WorkProgress.Run(console, "measuring the ceilings", _ => BenchRunner.MeasureCeilings(backend, 2, 5)) : null;
        using var weights = WorkProgress.Run(console, "drawing random weights", p => WanWeights.Random(config, 1, DType.F32, p));
        using var model = WorkProgress.Run(console, $"building the model on {kind.Label()}", p => new WanModel(backend, weights, options, MemoryPreflight.CollectingEach(p)));
        EngineArgs.Warn(console, model);
        MemoryPreflight.Collect();
        using var text = GaussianNoise.Sample(1, new Shape(config.TextTokens, config.TextDim), "text");
        using var session = WorkProgress.Run(console, "encoding the prompt", _ => new StreamingSession(model, text, preset, profile: true));
        MemoryPreflight.Collect();
        using var decoder = decodeKind is DecoderKind k
            ? WorkProgress.Run(console, $"opening the {VideoDecoders.Name(k)} decoder", _ => VideoDecoders.Open(k, backend, config, options.Activations, null, 1))
            : null;
        var blockDecoder = decoder is null ? null : new BlockDecoder(decoder);
        // The decoder's op spans: a profiler of its own, active only around its calls, so its table
        // and the DiT's (the session's profiler, active inside GenerateBlock) never mix.
        using var decodeProfiler = decoder is null ? null : new Profiler(backend);
        WorkProgress.Run(console, $"{warm} warm-up blocks", p =>
        {
            for (int i = 0; i < warm; i++)
            {
                var block = session.GenerateBlock();
                blockDecoder?.Decode(block);
                p.Report((i + 1) / (double)warm);
            }
        });
        session.Metrics.ResetOps();
        double decodeMs = 0;
        long decodedFrames = 0;
        double blockMs = WorkProgress.Run(console, $"{blocks} profiled blocks", p =>
        {
            double sum = 0;
            for (int i = 0; i < blocks; i++)
            {
                var block = session.GenerateBlock();
                sum += block.LatencyMs;
                if (blockDecoder is not null)
                {
                    using var scope = decodeProfiler!.Activate();
                    var decoded = blockDecoder.Decode(block);
                    decodeMs += decoded.DecodeMs;
                    decodedFrames += decoded.Frames.Count;
                }
                p.Report((i + 1) / (double)blocks);
            }
            return sum / blocks;
        });
        double total = OpTable(console, session.Metrics.OpWork, blocks, ceilings, out string unit, out double scale, out int beaten);
        string ceilingText = ceilings is null
            ? $"ceilings: none ({noCeiling})"
            : $"ceilings: copy {Figure(ceilings.CopyGbps)} GB/s, GEMM {Figure(ceilings.GemmTflops * scale)} {unit} ({ceilings.GemmCase})";
        console.MarkupLine(Markup.Escape(
            $"block {Figure(blockMs)} ms wall, ops {Figure(total / blocks)} ms; {ceilingText}; " +
            $"NVTX {(kind.NeedsGpu() ? (Zoetrope.Runtime.Cuda.Nvtx.Available ? "on" : "library not found") : "n/a on CPU")}"));
        if (decoder is not null)
        {
            console.MarkupLine(Markup.Escape($"decoder {decoder.Name}: per-op breakdown of decoding the same {blocks} block{(blocks == 1 ? "" : "s")}"));
            var decodeOps = decodeProfiler!.Collect().Select(e => new OpTotals(e.Name, e.Count, e.TotalMs, e.Flops, e.Bytes)).ToArray();
            double decodeTotal = OpTable(console, decodeOps, blocks, ceilings, out _, out _, out int decodeBeaten);
            beaten += decodeBeaten;
            // Frame rates of the profiled blocks (their video frames over their wall times; timers per op included).
            double seconds = blockMs * blocks / 1000, decodeSeconds = decodeMs / 1000;
            console.MarkupLine(Markup.Escape(FormattableString.Invariant(
                $"decode {Figure(decodeMs / blocks)} ms per block wall, ops {Figure(decodeTotal / blocks)} ms; {decodedFrames} video frames: {decodedFrames / decodeSeconds:0.00} FPS decoding alone, {decodedFrames / seconds:0.00} DiT only, {decodedFrames / (seconds + decodeSeconds):0.00} with decoding")));
        }
        if (beaten > 0)
        {
            console.MarkupLine(Markup.Escape(
                $"-* {beaten} op(s) beat the measured ceiling, so it is no bound for them (a small GEMM and a plain copy are not this op's roofline): no fraction shown"));
        }
        return 0;
    }

    // The per-op table (calls and ms per block, share, FLOP/s in the unit that keeps digits, GB/s,
    // fraction of the ceilings); returns the ops' total ms.
    private static double OpTable(IAnsiConsole console, IReadOnlyList<OpTotals> ops, int blocks, BenchCeilings? ceilings, out string unit, out double scale, out int beaten)
    {
        double total = ops.Sum(o => o.Ms);
        var rates = ops.Select(o => (Op: o, Tflops: o.Ms > 0 ? o.Flops / (o.Ms * 1e9) : 0, Gbps: o.Ms > 0 ? o.Bytes / (o.Ms * 1e6) : 0)).ToArray();
        // FLOP/s in the unit that keeps digits: CPU figures are GFLOP/s, a GPU's TFLOP/s.
        double maxTflops = Math.Max(rates.Select(r => r.Tflops).DefaultIfEmpty(0).Max(), ceilings?.GemmTflops ?? 0);
        (unit, scale) = maxTflops >= 1 ? ("TFLOP/s", 1.0) : ("GFLOP/s", 1e3);
        beaten = 0;
        var table = new Table().Border(TableBorder.Simple).AddColumns("op", "calls/block", "ms/block", "share", unit, "GB/s", "of ceiling");
        foreach (var (o, tflops, gbps) in rates)
        {
            string fraction = "-";
            if (ceilings is not null)
            {
                double f = Math.Max(ceilings.GemmTflops > 0 ? tflops / ceilings.GemmTflops : 0, ceilings.CopyGbps > 0 ? gbps / ceilings.CopyGbps : 0);
                if (f > 1)
                {
                    beaten++;
                    fraction = "-*";
                }
                else
                {
                    fraction = f.ToString("P1", CultureInfo.InvariantCulture);
                }
            }
            table.AddRow(o.Op, (o.Count / (double)blocks).ToString("0", CultureInfo.InvariantCulture), Figure(o.Ms / blocks), (o.Ms / total).ToString("P1", CultureInfo.InvariantCulture),
                Figure(tflops * scale), Figure(gbps), fraction);
        }
        console.Write(table);
        return total;
    }

    /// <summary>
    /// A figure with four significant digits and no exponent in the range a table shows
    /// (0.0001234, 1.234, 1234): tiny CPU rates keep their digits instead of reading 0.000.
    /// </summary>
    public static string Figure(double value)
    {
        if (value == 0 || !double.IsFinite(value))
        {
            return value == 0 ? "0" : "-";
        }
        double a = Math.Abs(value);
        if (a < 1e-4 || a >= 1e7)
        {
            return value.ToString("G4", CultureInfo.InvariantCulture);
        }
        int decimals = Math.Max(0, 3 - (int)Math.Floor(Math.Log10(a)));
        return value.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }
}
