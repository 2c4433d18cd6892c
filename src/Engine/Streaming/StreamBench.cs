// StreamBench: the `stream` rows of a benchmark result. One row per kernel variant (dense/bf16,
// dense/W8A8, SLA/W8A8, and on GPUs turbo: SageSLA/W8A8-block128 in bf16) of the longlive preset
// with seeded random weights: the tiny model on CPU backends, wan-1.3b on GPUs. The cache is
// filled past its window first, so every timed block evicts; each sample is one block's wall time
// (4 steps + the clean re-run, synchronized).
// Model per backend: wan-1.3b on GPUs, tiny on reference, micro on ilgpu-cpu (CPU accelerator).
// On GPUs the suite also times one-shot generation (OneShotGenerator) at TurboDiffusion's shapes:
// wan-1.3b, 21 latent frames (32,760 tokens per forward), 4 steps, for the dense/bf16 baseline
// and turbo only, one timed generation each after a one-step warm-up of the same shape (a dense one is
// about 8 PFLOP of attention: the device kit's step budget holds two, not eight); each sample is
// the whole generation. CPU backends skip those rows (a 21-frame wan-1.3b forward is hours there).
// The decoders are measured in the same run, on the blocks the first variant generated (480x832
// video on GPUs): one row per decoder, each sample one steady block's decode (the clip's first
// block, one video frame short, decodes untimed first), its TFLOP/s from the decoder's FLOP count,
// and the FPS of generation and decoding together in the label.
using Zoetrope.Engine.Decode;
using Zoetrope.Quant;
using Zoetrope.Runtime.Results;

namespace Zoetrope.Engine;

/// <summary>Streaming-block rows for a benchmark report.</summary>
internal static class StreamBench
{
    /// <summary>The variants measured: attention kernel and linear path.</summary>
    public static IReadOnlyList<(AttentionMode Attention, LinearPath Linear)> Variants { get; } =
        [(AttentionMode.Dense, LinearPath.Bf16), (AttentionMode.Dense, LinearPath.Int8), (AttentionMode.Sla, LinearPath.Int8)];

    /// <summary>TurboDiffusion's kernels (<see cref="ModelOptions.Turbo"/>), measured on GPUs.</summary>
    public static (AttentionMode Attention, LinearPath Linear) Turbo => (ModelOptions.Turbo.Attention, ModelOptions.Turbo.Linear);

    /// <summary>The variants measured on <paramref name="kind"/>: <see cref="Variants"/>, plus <see cref="Turbo"/> on GPUs.</summary>
    public static IReadOnlyList<(AttentionMode Attention, LinearPath Linear)> VariantsFor(BackendKind kind) =>
        GenerateRuns(kind) ? [.. Variants, Turbo] : Variants;

    /// <summary>Whether the one-shot generation row of a variant runs (on GPUs): the dense/bf16 baseline and turbo.</summary>
    public static bool GeneratesFor(BackendKind kind, AttentionMode attention, LinearPath linear) =>
        GenerateRuns(kind) && ((attention, linear) == Variants[0] || (attention, linear) == Turbo);

    /// <summary>The options of a variant on <paramref name="kind"/> (the Sage kernels in bf16 everywhere: their P.V is 16-bit).</summary>
    public static ModelOptions OptionsFor(BackendKind kind, AttentionMode attention, LinearPath linear) =>
        (attention, linear) == Turbo ? ModelOptions.Turbo : new ModelOptions { Activations = DTypeFor(kind), Attention = attention, Linear = linear };

    /// <summary>Latent frames of the one-shot generation rows (81 video frames).</summary>
    public const int GenerateFrames = GenerateOptions.DefaultFrames;

    /// <summary>Steps of the one-shot generation rows.</summary>
    public const int GenerateSteps = 4;

    /// <summary>The one-shot generation rows' options: 21 frames, 4 shift-warped steps.</summary>
    public static GenerateOptions Generate { get; } = new() { Frames = GenerateFrames, Timesteps = StreamOptions.Warp(GenerateOptions.EvenTimesteps(GenerateSteps), GenerateOptions.DefaultShift) };

    /// <summary>Whether the one-shot generation rows run on <paramref name="kind"/>: on GPUs only, at wan-1.3b shapes.</summary>
    public static bool GenerateRuns(BackendKind kind) => kind is BackendKind.IlgpuCuda or BackendKind.Cuda;

    /// <summary>
    /// Every row the suite has on <paramref name="kind"/>, by label, with why it is skipped there
    /// (null: it runs): the streaming block per variant, and the one-shot generation per variant.
    /// </summary>
    public static IReadOnlyList<(string Label, string? Skipped)> Listing(BackendKind kind)
    {
        var config = ConfigFor(kind);
        var dtype = DTypeFor(kind);
        var preset = StreamOptions.LongLive;
        string? skip = GenerateRuns(kind) ? null : $"one-shot generation runs at {DiTConfig.Wan1_3B.Name} shapes on GPUs only";
        return [
            .. VariantsFor(kind).Select(v => (StreamLabel(config, preset, v.Attention, v.Linear, OptionsFor(kind, v.Attention, v.Linear).Activations), (string?)null)),
            .. new[] { Variants[0], Turbo }.Select(v => (GenerateLabel(DiTConfig.Wan1_3B, v.Attention, v.Linear, DType.BF16), skip)),
            .. Decoders.Select(d => (DecodeLabel(config, d, preset.BlockFrames, dtype), DecodeSkipped(kind, d))),
        ];
    }

    /// <summary>The decoders whose per-block decode the suite measures (<see cref="DecodeSkipped"/> says where not).</summary>
    public static IReadOnlyList<DecoderKind> Decoders { get; } = [DecoderKind.Tiny, DecoderKind.Wan];

    /// <summary>Why <paramref name="decoder"/>'s row does not run on <paramref name="kind"/>, or null when it does (everywhere but ILGPU's CPU accelerator).</summary>
    public static string? DecodeSkipped(BackendKind kind, DecoderKind decoder) =>
        kind == BackendKind.IlgpuCpu
            ? $"the {VideoDecoders.Name(decoder)} decoder's convolutions take seconds each on ILGPU's CPU accelerator (barriers in every K stage; tiny 25 s and wan minutes per micro block); it runs on the reference backend and GPUs"
            : null;

    /// <summary>The name of a decode row: model, decoder, block size, video size, dtype.</summary>
    public static string DecodeLabel(DiTConfig config, DecoderKind decoder, int blockFrames, DType dtype)
    {
        ArgumentNullException.ThrowIfNull(config);
        return FormattableString.Invariant(
            $"{config.Name} decode {VideoDecoders.Name(decoder)} {blockFrames}-latent-frame blocks ({blockFrames * 4} frames {config.LatentHeight * 8}x{config.LatentWidth * 8}) {dtype.Name()}");
    }

    /// <summary>
    /// Floating-point operations of one steady <paramref name="blockFrames"/>-frame block of
    /// <paramref name="decoder"/> at <paramref name="config"/>'s latent size, as the decoder runs
    /// it (<see cref="WanVaeConfig.DecodeFlopsPerLatentFrame"/>, <see cref="TaehvConfig.MacsPerLatentPixel"/>).
    /// </summary>
    public static double DecodeFlops(DiTConfig config, DecoderKind decoder, int blockFrames)
    {
        ArgumentNullException.ThrowIfNull(config);
        double perFrame = decoder == DecoderKind.Wan
            ? WanVaeConfig.For(config).DecodeFlopsPerLatentFrame(config.LatentHeight, config.LatentWidth)
            : 2.0 * TaehvConfig.For(config).MacsPerLatentPixel(upstream: false) * config.LatentHeight * config.LatentWidth;
        return perFrame * blockFrames;
    }

    /// <summary>
    /// Decodes <paramref name="blocks"/> (latents [C, F, H, W] of one clip, in order) with each of
    /// <see cref="Decoders"/> that runs on the backend: the first block untimed (it opens the clip),
    /// each later one a sample (with one block only, that block is the sample: smoke runs). Rows
    /// of the stream suite named by <see cref="DecodeLabel"/>; <paramref name="blockMs"/>, the
    /// DiT's median per block, gives the FPS of the two together.
    /// </summary>
    public static IReadOnlyList<BenchCase> MeasureDecode(Backend backend, DiTConfig config, DType dtype, IReadOnlyList<float[]> blocks, int blockFrames, double blockMs)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(blocks);
        ArgumentOutOfRangeException.ThrowIfLessThan(blocks.Count, 1);
        var rows = new List<BenchCase>();
        foreach (var kind in Decoders.Where(d => DecodeSkipped(backend.Kind, d) is null))
        {
            using var decoder = VideoDecoders.Open(kind, backend, config, dtype, null, 1);
            var timed = blocks.Count > 1 ? blocks.Skip(1) : blocks;
            if (blocks.Count > 1)
            {
                decoder.Decode(blocks[0], blockFrames);
            }
            var samples = timed.Select(b =>
            {
                var watch = System.Diagnostics.Stopwatch.StartNew();
                decoder.Decode(b, blockFrames);
                return watch.Elapsed.TotalMilliseconds;
            }).ToArray();
            var stats = TimingStats.From(samples);
            double videoFrames = blockFrames * 4.0;
            string label = FormattableString.Invariant(
                $"{DecodeLabel(config, kind, blockFrames, dtype)} ({stats.MedianMs:0.0} ms; {videoFrames * 1000 / (blockMs + stats.MedianMs):0.0} FPS with the DiT)");
            double tflops = DecodeFlops(config, kind, blockFrames) / (stats.MedianMs * 1e9);
            rows.Add(new BenchCase("stream", backend.Name, label, dtype.Name(), stats.Iterations, stats.MedianMs, stats.MinMs, stats.P90Ms,
                tflops, 0, null, null, null, stats.SamplesMs));
        }
        return rows;
    }

    /// <summary>The name of a one-shot generation row: model, variant, frames, tokens per forward, steps.</summary>
    public static string GenerateLabel(DiTConfig config, AttentionMode attention, LinearPath linear, DType dtype)
    {
        ArgumentNullException.ThrowIfNull(config);
        return FormattableString.Invariant(
            $"{config.Name} generate {Variant(attention, linear, dtype)} {Generate.Frames} frames ({(long)Generate.Frames * config.FrameTokens} tokens) x {Generate.Timesteps.Count} steps");
    }

    /// <summary>The model measured by default: Wan-1.3B on GPUs, tiny on the reference, micro on ILGPU's CPU.</summary>
    public static DiTConfig ConfigFor(BackendKind kind) =>
        kind is BackendKind.IlgpuCuda or BackendKind.Cuda ? DiTConfig.Wan1_3B : kind == BackendKind.Reference ? DiTConfig.Tiny : DiTConfig.Micro;

    /// <summary>The activation dtype: bf16 on GPUs, f32 on CPUs.</summary>
    public static DType DTypeFor(BackendKind kind) => kind is BackendKind.IlgpuCuda or BackendKind.Cuda ? DType.BF16 : DType.F32;

    /// <summary>The largest of the variants' estimates (one model is alive at a time; the weights are shared).</summary>
    public static MemoryEstimate Estimate(BackendKind kind) =>
        VariantsFor(kind).SelectMany(v =>
            {
                var options = OptionsFor(kind, v.Attention, v.Linear);
                var stream = MemoryEstimate.For(ConfigFor(kind), options, StreamOptions.LongLive, kind);
                return GenerateRuns(kind) ? new[] { stream, MemoryEstimate.ForGenerate(ConfigFor(kind), options, Generate.Frames, kind) } : [stream];
            })
            .MaxBy(e => e.HostBytes + e.DeviceBytes)!;

    /// <summary>
    /// Measures <paramref name="blocks"/> blocks per variant on <paramref name="backend"/>, after
    /// filling the cache (or, with <paramref name="warm"/> false, from an empty one: smoke runs).
    /// </summary>
    public static IReadOnlyList<BenchCase> Measure(Backend backend, int blocks, DiTConfig? config = null, bool warm = true)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentOutOfRangeException.ThrowIfLessThan(blocks, 1);
        config ??= ConfigFor(backend.Kind);
        var dtype = DTypeFor(backend.Kind);
        var preset = StreamOptions.LongLive;
        using var weights = WanWeights.Random(config, 1);
        using var text = GaussianNoise.Sample(1, new Shape(config.TextTokens, config.TextDim), "text");
        var rows = new List<BenchCase>();
        var clip = new List<float[]>();
        double firstVariantMs = 0;
        foreach (var (attention, linear) in VariantsFor(backend.Kind))
        {
            var options = OptionsFor(backend.Kind, attention, linear);
            dtype = options.Activations;
            using var model = new WanModel(backend, weights, options);
            double[] samples;
            // The session (and its KV pool) goes before the one-shot rows run: one workload's memory at a time.
            using (var session = new StreamingSession(model, text, preset))
            {
                int warmBlocks = warm ? preset.BlocksToFillCache : 0;
                // The first variant's blocks are also the clip the decoders decode (kept on the host).
                bool keep = clip.Count == 0;
                for (int i = 0; i < warmBlocks; i++)
                {
                    var block = session.GenerateBlock();
                    if (keep)
                    {
                        clip.Add(block.Latents);
                    }
                }
                samples = Enumerable.Range(0, blocks).Select(_ =>
                {
                    var block = session.GenerateBlock();
                    if (keep)
                    {
                        clip.Add(block.Latents);
                    }
                    return block.LatencyMs;
                }).ToArray();
            }
            var stats = TimingStats.From(samples);
            if (firstVariantMs == 0)
            {
                firstVariantMs = stats.MedianMs;
            }
            string label = FormattableString.Invariant($"{StreamLabel(config, preset, attention, linear, dtype)} ({12000 / stats.MedianMs:0.0} FPS)");
            rows.Add(new BenchCase("stream", backend.Name, label, dtype.Name(), stats.Iterations, stats.MedianMs, stats.MinMs, stats.P90Ms,
                0, 0, null, null, null, stats.SamplesMs));
            if (GeneratesFor(backend.Kind, attention, linear))
            {
                rows.Add(MeasureGenerate(model, text, attention, linear, 1, warm: true));
            }
        }
        // The decoders after the DiT's models are gone: one workload's memory at a time. A warm
        // run decodes the fill blocks too; only the last `blocks` are samples.
        var decoded = warm ? clip.Skip(Math.Max(0, clip.Count - blocks - 1)).ToList() : clip;
        rows.AddRange(MeasureDecode(backend, config, DTypeFor(backend.Kind), decoded, preset.BlockFrames, firstVariantMs));
        return rows;
    }

    /// <summary>
    /// Times <paramref name="runs"/> one-shot generations (<see cref="Generate"/>: 21 frames, 4
    /// steps) of <paramref name="model"/> under <paramref name="text"/>, after an untimed one-step
    /// generation of the same shape when <paramref name="warm"/>; a row of the stream suite named
    /// by <see cref="GenerateLabel"/>.
    /// </summary>
    public static BenchCase MeasureGenerate(WanModel model, Tensor text, AttentionMode attention, LinearPath linear, int runs, bool warm = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(runs, 1);
        var generator = new OneShotGenerator(model, Generate);
        using var prompt = model.EncodeText(text);
        if (warm)
        {
            // One step of the same shape: scratch, workspace pools and kernel modules are made
            // here, not inside the timed generation, at a quarter of a generation's cost.
            new OneShotGenerator(model, Generate with { Timesteps = [Generate.Timesteps[0]] }).Generate(prompt);
        }
        var samples = Enumerable.Range(0, runs).Select(_ => generator.Generate(prompt).TotalMs).ToArray();
        model.ReleaseScratch(StreamOptions.LongLive.BlockFrames);
        var stats = TimingStats.From(samples);
        var dtype = model.Options.Activations;
        string label = FormattableString.Invariant($"{GenerateLabel(model.Config, attention, linear, dtype)} ({stats.MedianMs / 1000:0.00} s)");
        return new BenchCase("stream", model.Backend.Name, label, dtype.Name(), stats.Iterations, stats.MedianMs, stats.MinMs, stats.P90Ms,
            0, 0, null, null, null, stats.SamplesMs);
    }

    private static string StreamLabel(DiTConfig config, StreamOptions preset, AttentionMode attention, LinearPath linear, DType dtype) =>
        FormattableString.Invariant($"{config.Name} longlive {Variant(attention, linear, dtype)} {preset.BlockFrames}-frame blocks x {preset.Timesteps.Count} steps");

    private static string Variant(AttentionMode attention, LinearPath linear, DType dtype) =>
        $"{attention.ToString().ToLowerInvariant()}+{(linear == LinearPath.Bf16 ? dtype.Name() : "w8a8")}";
}
