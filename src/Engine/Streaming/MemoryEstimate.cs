// MemoryEstimate: what a streaming run (For) or a one-shot generation (ForGenerate) of a model
// holds at its peak, worked out from the shapes alone (nothing is allocated), so a caller can
// refuse a run the machine cannot hold before it draws a single weight. It follows what the engine actually allocates:
//   master weights  WanWeights' host copy, kept for the whole run (f32 when drawn at random, the
//                   file's bytes when loaded) + TimestepEmbedding's f64 copy of the time path;
//   backend weights WanModel/WanLayer: block linears in the --linear path's format (codes + f32
//                   scales) or the activation dtype, the patch/text/head linears in the activation
//                   dtype, f32 biases and modulation, norm vectors, the RoPE table;
//   activations     ForwardScratch of one block, the prompt's cross-attention K/V (two while a
//                   switch encodes the new one), QuantizedLinear's activation-code scratch, and on
//                   a prompt switch the recache forward's scratch and keys;
//   KV pool         KvCache: sinks + window frames x layers x K and V in its format (+ the rotated-read copies);
//   host transient  the reference backend's ops read their operands as f64 arrays (plus the
//                   byte copies ToDoubles makes) and uploads convert through f64: garbage the GC
//                   frees late, counted with a slack factor calibrated against measured peak RSS
//                   (zoe runs with System.GC.ConserveMemory and collects between build steps, see
//                   src/Cli/runtimeconfig.template.json; without that the GC let 2-3x pile up);
//   runtime         the .NET runtime and JIT'd code (measured), a CUDA context on GPUs (assumed).
using Zoetrope.Quant;

namespace Zoetrope.Engine;

/// <summary>
/// The memory a streaming run needs at its peak, by part, from the model's shapes, the options
/// and the backend (no allocation). Host and device are apart: on CPU backends (reference,
/// ilgpu-cpu, the emulated ones) the backend's tensors are host memory too.
/// </summary>
public sealed record MemoryEstimate
{
    /// <summary>
    /// Measured peak RSS of the runtime and code before any model memory: `zoe stream --model micro`
    /// (whose tensors are under 2 MiB), Release build, peaks at 55-58 MiB on reference and ~83 MiB
    /// on ilgpu-cpu.
    /// </summary>
    public const long ReferenceRuntimeBytes = 56L << 20;

    /// <summary>The runtime with ILGPU's context and accelerator (ilgpu-cpu and the GPU/emulated backends).</summary>
    public const long IlgpuRuntimeBytes = 84L << 20;

    /// <summary>Device memory a CUDA context and module images take before any tensor (assumed, not measured here).</summary>
    public const long CudaContextBytes = 512L << 20;

    /// <summary>
    /// How many times one op's f64 operands the host holds at peak: the current op's arrays plus
    /// the previous op's garbage the GC has not yet returned (calibrated against VmHWM).
    /// </summary>
    public const double ManagedSlack = 2.0;

    /// <summary>The model.</summary>
    public required string Model { get; init; }

    /// <summary>Where the model's tensors live.</summary>
    public required BackendKind Backend { get; init; }

    /// <summary>The parameters as <c>WanWeights</c> holds them on the host for the whole run, plus the timestep path's f64 copy.</summary>
    public required long MasterWeights { get; init; }

    /// <summary>A short description of <see cref="MasterWeights"/> ("f32 master copy", "checkpoint copy").</summary>
    public required string MasterLabel { get; init; }

    /// <summary>The parameters as the model holds them on its backend (path format, activation dtype, f32 scales and biases).</summary>
    public required long BackendWeights { get; init; }

    /// <summary>Activation tensors on the backend: one block's forward scratch, the prompt K/V, quantization scratch, recache buffers.</summary>
    public required long ActivationTensors { get; init; }

    /// <summary>Host memory that comes and goes: f64 operands of reference ops, conversions on upload (GC slack included).</summary>
    public required long HostTransient { get; init; }

    /// <summary>The rolling KV cache, all layers (and the rotated-read copy when keys are rotated on read).</summary>
    public required long KvPool { get; init; }

    /// <summary>The runtime and code (host) before any model memory.</summary>
    public required long Runtime { get; init; }

    /// <summary>Device memory of the CUDA context on GPU backends; 0 elsewhere.</summary>
    public required long DeviceContext { get; init; }

    /// <summary>
    /// The video decoder's part when the run decodes (<c>--decode</c>), or null: its tensors on the
    /// backend, and its host staging, which comes while a block decodes or while it is built, not
    /// while the DiT runs an op, so the host counts the larger of the two transients, not both.
    /// </summary>
    internal Decode.DecoderMemory? Decoder { get; init; }

    /// <summary>True when the backend's tensors are host memory (every backend but ilgpu-cuda and cuda).</summary>
    public bool BackendIsHost => !Backend.NeedsGpu();

    /// <summary>Weights on host and backend together.</summary>
    public long Weights => MasterWeights + BackendWeights;

    /// <summary>Activation tensors and host transients together.</summary>
    public long Activations => ActivationTensors + HostTransient;

    /// <summary>What the backend's allocator should see at peak (<see cref="Runtime.Backend.PeakBytes"/>).</summary>
    public long BackendTensorBytes => BackendWeights + ActivationTensors + KvPool + (Decoder?.DeviceBytes ?? 0);

    /// <summary>Peak host memory of the process (its resident set).</summary>
    public long HostBytes => Runtime + MasterWeights + Math.Max(HostTransient, Decoder?.HostTransient ?? 0) + (BackendIsHost ? BackendTensorBytes : 0);

    /// <summary>Peak device memory on GPU backends (0 on CPU backends, whose tensors count in <see cref="HostBytes"/>).</summary>
    public long DeviceBytes => BackendIsHost ? 0 : BackendTensorBytes + DeviceContext;

    /// <summary>
    /// The estimate for streaming <paramref name="config"/> under <paramref name="options"/> and
    /// <paramref name="stream"/> on <paramref name="backend"/>: weights drawn at random (f32) or, with
    /// <paramref name="checkpointBytes"/>, loaded from a file that size; with <paramref name="promptSwitch"/>,
    /// one LongLive prompt switch (recache) counted too.
    /// </summary>
    public static MemoryEstimate For(DiTConfig config, ModelOptions options, StreamOptions stream, BackendKind backend,
        long? checkpointBytes = null, bool promptSwitch = false)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(stream);
        var c = config;
        long s = options.Activations.Size();
        long d = c.Dim, t = c.FrameTokens;
        var (master, backendWeights, upload) = WeightParts(c, options, checkpointBytes);
        long Scratch(long n, int frames) => ScratchBytes(c, s, n, frames);

        // KV pool: K and V per layer for sinks + window frames in the cache's format (INT8 K adds a
        // scale per token and head, and a smoothing vector per layer), plus every layer's
        // rotated-read copy when keys are rotated on read.
        int slots = stream.CacheFrames;
        bool storesRotated = KvCache.StoresRotatedUnder(stream);
        long kvPool = (slots * KvCache.FrameBytes(c, options.KvFormat, options.Activations, !storesRotated))
            + (options.KvFormat == KvFormat.Int8 ? 4L * c.Layers * d : 0);

        // Activations: the block's ForwardScratch, the prompt's K/V (the new prompt's too while a
        // switch encodes it), EncodeText's buffers, the W8A8/FP8 activation codes each block
        // linear keeps (grown to the largest row count it has seen), and the recache forward.
        long block = stream.BlockFrames * t;
        // A switch that may re-run the sinks (always, or before the first eviction) re-runs the whole cache.
        int recacheFrames = stream.SwitchSinks == SinkSwitch.Keep ? stream.WindowFrames : slots;
        long recache = promptSwitch ? recacheFrames * t : 0;
        long rows = Math.Max(block, recache);
        long promptKv = PromptKvBytes(c, s);
        long encode = EncodeBytes(c, s);
        long codes = CodeBytes(c, options, rows);
        long recacheBuffers = promptSwitch ? Scratch(recache, recacheFrames) + (2 * slots * t * d * s) : 0;
        long activations = Scratch(block, stream.BlockFrames) + (promptSwitch ? 2 : 1) * promptKv + encode + codes + recacheBuffers
            + AttentionWorkBytes(c, options, rows, slots * t, ownKeys: false);
        activations = WithQuantizeStaging(c, options, activations, kvPool);

        // Host transients: one upload's staging (WeightParts) while building; one op's operands while running.
        long running = RunningBytes(c, s, backend, rows, slots * t);
        return Assemble(c, options, backend, checkpointBytes, (master, backendWeights, upload), activations, kvPool, running);
    }

    /// <summary>
    /// The estimate for one-shot generation (<c>zoe generate</c>) of <paramref name="frames"/> latent
    /// frames of <paramref name="config"/> under <paramref name="options"/> on <paramref name="backend"/>:
    /// the same weights, one forward's scratch for frames x FrameTokens tokens, the prompt's K/V, no
    /// KV pool; on the host, the sampler's latent arrays and, on the reference, one op's operands over
    /// every token (attention reads all of them as keys).
    /// </summary>
    public static MemoryEstimate ForGenerate(DiTConfig config, ModelOptions options, int frames, BackendKind backend, long? checkpointBytes = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(frames, 1);
        var c = config;
        long s = options.Activations.Size();
        var weights = WeightParts(c, options, checkpointBytes);
        long tokens = (long)frames * c.FrameTokens;
        long activations = ScratchBytes(c, s, tokens, frames) + PromptKvBytes(c, s) + EncodeBytes(c, s) + CodeBytes(c, options, tokens)
            + AttentionWorkBytes(c, options, tokens, tokens, ownKeys: true);
        activations = WithQuantizeStaging(c, options, activations, 0);
        // The sampler's host arrays: x, x0, the re-noise draw, v, a step trace's copy, and the
        // forward's patch tokens in and out (each C x F x H x W floats); the per-frame modulation.
        long latents = (long)frames * c.FrameLatents * 4;
        long running = RunningBytes(c, s, backend, tokens, tokens) + (7 * latents) + (2L * frames * 6 * c.Dim * 4);
        return Assemble(c, options, backend, checkpointBytes, weights, activations, 0, running);
    }

    // One forward's ForwardScratch for n tokens in `frames` frames (the activation dtype) and its per-frame modulation (f32).
    private static long ScratchBytes(DiTConfig c, long s, long n, int frames) =>
        (((12 * n * c.Dim) + (n * c.FfnDim) + (2 * n * c.PatchFeatures)) * s) + (2L * frames * 6 * c.Dim * 4);

    // What the self-attention kernel adds for `rows` queries over `keys` keys: Sage's INT8 Q (and,
    // for a full-sequence forward whose keys are its own, K: ForwardScratch.SageK) and
    // qk_norm_rope_int8's pooled f32 rows; SageSLA's pooled sla workspace (phi(q), phi(k), o_lin,
    // the residual and the prefix, about 3 q + k floats) and sage_quantize's INT8 Q/K; SLA's the
    // same f32 work; Sage's FP8 V codes under pv=fp8.
    private static long AttentionWorkBytes(DiTConfig c, ModelOptions options, long rows, long keys, bool ownKeys)
    {
        long d = c.Dim;
        long fp8V = options.SagePv == Zoetrope.Attention.Flash.SagePv.Fp8 ? keys * d : 0;
        return options.Attention switch
        {
            AttentionMode.Sage => SageQuery.Bytes(c, rows) + (ownKeys ? SageKeys.Bytes(c, keys) : 0) + (4 * rows * d) + fp8V,
            AttentionMode.SageSla => (4 * ((3 * rows * d) + (2 * keys * d))) + (rows * d) + (keys * d) + fp8V,
            AttentionMode.Sla => 4 * ((3 * rows * d) + (2 * keys * d)),
            _ => 0,
        };
    }

    // The prompt's cross-attention K/V, all layers.
    private static long PromptKvBytes(DiTConfig c, long s) => 2L * c.Layers * c.TextTokens * c.Dim * s;

    // EncodeText's buffers: the padded input and three [text, dim] tensors.
    private static long EncodeBytes(DiTConfig c, long s) => (((long)c.TextTokens * c.TextDim) + (3L * c.TextTokens * c.Dim)) * s;

    // The W8A8/FP8 activation codes each block linear keeps, grown to `rows` (none on the bf16 path).
    private static long CodeBytes(DiTConfig c, ModelOptions options, long rows)
    {
        long d = c.Dim, text = c.TextTokens;
        return options.Linear == LinearPath.Bf16 ? 0
            : c.Layers * ((7 * ((rows * d) + (4 * rows))) + (rows * c.FfnDim) + (4 * rows) + (2 * ((text * d) + (4 * text))));
    }

    // Quantizing a block linear stages its weight in the activation dtype on the backend first:
    // while the model is built (no KV pool yet) that copy is the only buffer beside the weights,
    // and for a model with few tokens it is the backend's peak.
    private static long WithQuantizeStaging(DiTConfig c, ModelOptions options, long activations, long kvPool) =>
        options.Linear == LinearPath.Bf16 ? activations : Math.Max(activations, ((long)c.FfnDim * c.Dim * options.Activations.Size()) - kvPool);

    // Host bytes one running op stages: on the reference, every operand as bytes + f64 and its
    // output in f64, for `rows` query rows over `keys` keys; everywhere, the prompt's host tensor,
    // f64 values and zero-padded copy.
    private static long RunningBytes(DiTConfig c, long s, BackendKind backend, long rows, long keys)
    {
        long d = c.Dim, ffn = c.FfnDim;
        long running = 0;
        if (backend == BackendKind.Reference)
        {
            long Linear(long m, long n, long k) => (m * k * (8 + s)) + (n * k * (8 + s)) + (m * n * (8 + s)) + (n * 12);
            long attention = (2 * rows * d * (8 + s)) + (2 * keys * d * (8 + s)) + (rows * c.Heads * 8);
            running = (long)(Math.Max(Math.Max(Linear(rows, ffn, d), Linear(rows, d, ffn)), attention) * ManagedSlack);
        }
        return running + ((long)c.TextTokens * c.TextDim * (4 + 8 + 8));
    }

    private static MemoryEstimate Assemble(DiTConfig c, ModelOptions options, BackendKind backend, long? checkpointBytes,
        (long Master, long Backend, long Upload) weights, long activations, long kvPool, long running)
    {
        var (master, backendWeights, upload) = weights;
        // Peak host = runtime + master + the larger of: building (the backend weights so far and
        // one upload's staging), running (everything on the backend and one op's operands).
        bool host = !backend.NeedsGpu();
        long hostWeights = host ? backendWeights : 0;
        long hostAll = host ? backendWeights + activations + kvPool : 0;
        long transient = Math.Max(hostWeights + upload, hostAll + running) - hostAll;

        return new MemoryEstimate
        {
            Model = c.Name,
            Backend = backend,
            MasterWeights = master,
            MasterLabel = checkpointBytes is null ? "f32 master copy" : "checkpoint copy",
            BackendWeights = backendWeights,
            ActivationTensors = activations,
            HostTransient = transient,
            KvPool = kvPool,
            Runtime = backend == BackendKind.Reference ? ReferenceRuntimeBytes : IlgpuRuntimeBytes,
            DeviceContext = backend.NeedsGpu() ? CudaContextBytes : 0,
        };
    }

    // The host master copy, the backend's copy of the weights, and one upload's host staging.
    private static (long Master, long Backend, long Upload) WeightParts(DiTConfig c, ModelOptions options, long? checkpointBytes)
    {
        long s = options.Activations.Size();
        long d = c.Dim, ffn = c.FfnDim, patch = c.PatchFeatures;
        var parameters = WanWeightNames.Expected(c);

        // Host master: WanWeights (f32 at random; a checkpoint's tensors keep the file's dtype) and
        // TimestepEmbedding's f64 arrays of the time path (1.5 GB for wan-14b).
        long timePath = parameters.Where(p => p.Name.StartsWith("time_", StringComparison.Ordinal)).Sum(p => p.Shape.ElementCount);
        long master = (checkpointBytes ?? (parameters.Sum(p => p.Shape.ElementCount) * DType.F32.Size())) + (8 * timePath);

        // Backend weights, as WanModel and WanLayer upload them.
        long DenseLinear(long n, long k) => (n * k * s) + (4 * n);
        long BlockLinear(long n, long k) => options.Linear switch
        {
            LinearPath.Bf16 => DenseLinear(n, k),
            LinearPath.Int8 => (n * k) + (4 * QuantScheme.PerChannelInt8.ScaleShape(n, k).ElementCount) + (4 * n),
            LinearPath.Int8Block128 => (n * k) + (4 * QuantScheme.Block128Int8.ScaleShape(n, k).ElementCount) + (4 * n),
            LinearPath.Fp8 => (n * k) + (4 * QuantScheme.PerTokenFp8.ScaleShape(n, k).ElementCount) + (4 * n),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Linear, "unknown linear path"),
        };
        long perLayer = (8 * BlockLinear(d, d)) + BlockLinear(ffn, d) + BlockLinear(d, ffn) + (6 * d * s) + (6 * d * 4);
        long backendWeights = DenseLinear(d, patch) + DenseLinear(d, c.TextDim) + DenseLinear(d, d) + DenseLinear(patch, d)
            + (6 * d * 4) + ((long)Attention.Rope.WanRopeTable.Positions * c.HeadDim * 4) + (c.Layers * perLayer);

        // Uploading a weight stages it as bytes, f64 values and packed copies (4 + 8 + 3 x the
        // dtype size per element); the time path is read once as bytes. (The seeded draw works
        // in small chunks and adds nothing that counts.)
        long largestUpload = parameters.Where(p => !p.Name.StartsWith("time_", StringComparison.Ordinal)).Max(p => p.Shape.ElementCount);
        long largestTime = parameters.Where(p => p.Name.StartsWith("time_", StringComparison.Ordinal)).Max(p => p.Shape.ElementCount);
        long upload = (long)(Math.Max(largestUpload * (4 + 8 + (3 * s)), largestTime * 4) * ManagedSlack);
        // The reference numerics build from a bf16 copy of every parameter, held while the model is built.
        if (options.Match == MatchMode.Reference)
        {
            upload += parameters.Sum(p => p.Shape.ElementCount) * DType.BF16.Size();
        }
        return (master, backendWeights, upload);
    }
}
