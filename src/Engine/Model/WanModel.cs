// WanModel: a Wan2.1-style DiT on one backend. Forward(latents [C, F, H, W], a timestep per
// frame, a prompt, a self-attention source) -> the flow-matching velocity v [C, F, H, W]:
//   patchify (host) -> patch linear -> e0 per frame (TimestepEmbedding, memoised) -> blocks
//   -> head: LN * (1 + scale) + shift (head.modulation + e) -> linear -> unpatchify (host).
// Latents cross the host boundary once each way per forward (a few MB at 480p); every tensor
// op in between runs on the backend the caller picked, in the activation dtype of ModelOptions.
using System.Runtime.InteropServices;
using Zoetrope.Attention;
using Zoetrope.Attention.Norm;
using Zoetrope.Attention.Rope;
using Zoetrope.Quant;

namespace Zoetrope.Engine;

/// <summary>A Wan-style causal DiT on one backend.</summary>
public sealed class WanModel : IDisposable
{
    private readonly QuantizedLinear _patch, _text0, _text2, _head;
    private readonly Tensor _headModulation;
    private readonly WanLayer[] _layers;
    private readonly Dictionary<int, ForwardScratch> _scratch = [];

    /// <summary>
    /// Uploads <paramref name="weights"/> to <paramref name="backend"/> (quantizing the block linears
    /// if asked); <paramref name="progress"/> hears the fraction of layers done.
    /// </summary>
    public WanModel(Backend backend, WanWeights weights, ModelOptions? options = null, IProgress<double>? progress = null)
    {
        Backend = backend ?? throw new ArgumentNullException(nameof(backend));
        ArgumentNullException.ThrowIfNull(weights);
        Options = options ?? new ModelOptions();
        Options.Validate();
        Config = weights.Config;
        Config.Validate();
        // The reference numerics hold every parameter in bf16, as the pipelines' `.to(bfloat16)`
        // leaves them: the f32 uploads (modulation, biases, the time path) carry bf16 values too.
        var lora = weights.Lora;
        using var bf16 = Options.Match == MatchMode.Reference ? RoundedToBf16(weights) : null;
        weights = bf16 ?? weights;
        Kernel = new SelfAttentionKernel(Options);
        var act = Options.Activations;
        var c = Config;
        _patch = QuantizedLinear.Create(backend, weights["patch_embedding.weight"].Reshape(new Shape(c.Dim, c.PatchFeatures)),
            weights["patch_embedding.bias"], LinearPath.Bf16, act);
        _text0 = QuantizedLinear.Create(backend, weights["text_embedding.0.weight"], weights["text_embedding.0.bias"], LinearPath.Bf16, act);
        _text2 = QuantizedLinear.Create(backend, weights["text_embedding.2.weight"], weights["text_embedding.2.bias"], LinearPath.Bf16, act);
        _head = QuantizedLinear.Create(backend, weights["head.head.weight"], weights["head.head.bias"], LinearPath.Bf16, act);
        // The head's two vectors ride in slots 0 (shift) and 1 (scale) of a 6-vector block
        // parameter, so adaln_modulate's chunk 0 computes Wan's head modulation unchanged.
        var hm = weights["head.modulation"].ToDoubles();
        var six = new double[6 * c.Dim];
        hm.CopyTo(six, 0);
        _headModulation = backend.Allocate(DType.F32, new Shape(1, 6, c.Dim), "head_modulation");
        _headModulation.WriteDoubles(six);
        Time = new TimestepEmbedding(weights, Options.Rounding);
        using (var table = WanRopeTable.Create(RopeSplit.Wan(c.HeadDim)))
        {
            RopeTable = table.To(backend, "rope_table");
        }
        Qk = new QkPath(c, RopeTable, Options.FusedQk, Options.Rounding);
        _layers = new WanLayer[c.Layers];
        for (int i = 0; i < c.Layers; i++)
        {
            _layers[i] = new WanLayer(backend, weights, i, Options);
            progress?.Report((i + 1) / (double)c.Layers);
        }
        var warnings = new List<string>();
        int withProj = _layers.Count(l => l.ProjL is not null);
        if (Options.Attention is AttentionMode.Sla or AttentionMode.SageSla && withProj < c.Layers)
        {
            warnings.Add(FormattableString.Invariant(
                $"SLA's linear branch: {c.Layers - withProj} of {c.Layers} layers have no trained proj_l ({WanWeightNames.ProjL(_layers.First(l => l.ProjL is null).Index)} ...) and run with proj_l = 0, i.e. sparse attention alone"));
        }
        if (Options.Match == MatchMode.Reference && lora is not null)
        {
            warnings.Add($"--match reference with a LoRA ({Path.GetFileName(lora.File)}): it is merged into the weights here, while LongLive applies it unmerged in bf16 (R(R(xW^T + b) + R(R(xA^T)B^T)) per Linear); the outputs agree less closely than bf16 precision");
        }
        Warnings = warnings;
    }

    /// <summary>Things the caller should tell the user (weights the options would use but the checkpoint lacks).</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>The self-attention QK path (norm + RoPE, fused or not; Sage's INT8).</summary>
    internal QkPath Qk { get; }

    /// <summary>The model's shapes.</summary>
    public DiTConfig Config { get; }

    /// <summary>Where every op runs.</summary>
    public Backend Backend { get; }

    /// <summary>Activation dtype, linear path, attention kernel.</summary>
    public ModelOptions Options { get; }

    /// <summary>The self-attention kernel the options chose.</summary>
    internal SelfAttentionKernel Kernel { get; }

    /// <summary>The timestep path (memoised per t).</summary>
    internal TimestepEmbedding Time { get; }

    /// <summary>Wan's RoPE table on the device [1024, D/2, 2] f32.</summary>
    internal Tensor RopeTable { get; }

    /// <summary>
    /// Embeds a prompt (<paramref name="text"/> [L &lt;= TextTokens, TextDim], any float dtype, any backend;
    /// zero-padded to TextTokens as Wan does) and computes every layer's cross-attention K/V.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong shape or dtype, or a non-finite value; the message names the tensor.</exception>
    public TextContext EncodeText(Tensor text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var c = Config;
        if (text.Rank != 2 || text.Shape[1] != c.TextDim || text.Shape[0] > c.TextTokens || text.Shape[0] == 0 || !text.DType.IsFloat())
        {
            throw new ArgumentException(
                $"text '{text.Name}': expected a float [L <= {c.TextTokens}, {c.TextDim}] embedding for model '{c.Name}', got {text.DType.Name()}{text.Shape}", nameof(text));
        }
        var values = text.ToDoubles();
        int bad = Array.FindIndex(values, v => !double.IsFinite(v));
        if (bad >= 0)
        {
            throw new ArgumentException($"text '{text.Name}': element {bad} (token {bad / c.TextDim}) is {values[bad]}", nameof(text));
        }
        var padded = new double[(long)c.TextTokens * c.TextDim];
        values.CopyTo(padded, 0);
        var act = Options.Activations;
        using var input = Backend.Allocate(act, new Shape(c.TextTokens, c.TextDim), "text");
        input.WriteDoubles(padded);
        using var hidden = Backend.Allocate(act, new Shape(c.TextTokens, c.Dim), "text_hidden");
        using var emb = Backend.Allocate(act, new Shape(c.TextTokens, c.Dim), "text_emb");
        using var scratch = Backend.Allocate(act, new Shape(c.TextTokens, c.Dim), "text_scratch");
        _text0.Forward(input, hidden, gelu: true, rounding: Options.Rounding);
        _text2.Forward(hidden, emb);
        var heads = new Shape(1, c.TextTokens, c.Heads, c.HeadDim);
        var k = new Tensor[c.Layers];
        var v = new Tensor[c.Layers];
        for (int i = 0; i < c.Layers; i++)
        {
            k[i] = Backend.Allocate(act, heads, $"text_k[{i}]");
            v[i] = Backend.Allocate(act, heads, $"text_v[{i}]");
            _layers[i].TextKv(emb, k[i], v[i], scratch);
        }
        return new TextContext(k, v);
    }

    /// <summary>
    /// The velocity v for <paramref name="latents"/> [C, F, H, W] (f32, F = <paramref name="frames"/>)
    /// with timestep <paramref name="timesteps"/>[f] for frame f, under prompt <paramref name="text"/>,
    /// with self-attention keys from <paramref name="attention"/>.
    /// </summary>
    internal float[] Forward(ReadOnlySpan<float> latents, int frames, IReadOnlyList<double> timesteps, TextContext text, ISelfAttention attention)
    {
        ArgumentNullException.ThrowIfNull(timesteps);
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(attention);
        var c = Config;
        Patchify.ExpectLength(c, latents.Length, frames, nameof(latents));
        if (timesteps.Count != frames)
        {
            throw new ArgumentException($"forward: {timesteps.Count} timesteps for {frames} frames", nameof(timesteps));
        }
        var s = ScratchFor(frames);
        Upload(s.Patches, Patchify.ToTokens(c, latents, frames));
        // The reference numerics add the patch embedding's bias as cuDNN does: after rounding the convolution.
        _patch.Forward(s.Patches, s.XRows, separateBias: Options.Match == MatchMode.Reference);

        var e0 = new float[frames * 6 * c.Dim];
        var head = new float[frames * 6 * c.Dim];
        for (int f = 0; f < frames; f++)
        {
            var (e, six) = Time.Of(timesteps[f]);
            six.CopyTo(e0, f * 6 * c.Dim);
            e.CopyTo(head, f * 6 * c.Dim);
            e.CopyTo(head, (f * 6 * c.Dim) + c.Dim);
        }
        Upload(s.E0, e0);
        Upload(s.HeadE0, head);

        foreach (var layer in _layers)
        {
            layer.Forward(s, text, attention);
        }

        AdaLnModulate.Run(s.X, s.HeadE0, _headModulation, s.H, 0, DiTConfig.Eps, Options.Rounding);
        _head.Forward(s.HRows, s.HeadOut);
        var outTokens = s.HeadOut.DType == DType.F32 ? s.HeadOut.ToArray<float>() : s.HeadOut.ToDoubles().Select(x => (float)x).ToArray();
        return Patchify.FromTokens(c, outTokens, frames);
    }

    /// <summary>The activation buffers for <paramref name="frames"/>-frame forwards (made once, then reused).</summary>
    internal ForwardScratch ScratchFor(int frames)
    {
        if (!_scratch.TryGetValue(frames, out var s))
        {
            s = new ForwardScratch(Backend, Config, Options.Activations, frames);
            _scratch[frames] = s;
        }
        return s;
    }

    /// <summary>Frees the buffers of forward shapes other than <paramref name="keepFrames"/> (after a one-off recache).</summary>
    internal void ReleaseScratch(int keepFrames)
    {
        foreach (var f in _scratch.Keys.Where(f => f != keepFrames).ToArray())
        {
            _scratch[f].Dispose();
            _scratch.Remove(f);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var l in _layers)
        {
            l.Dispose();
        }
        foreach (var s in _scratch.Values)
        {
            s.Dispose();
        }
        _scratch.Clear();
        _patch.Dispose();
        _text0.Dispose();
        _text2.Dispose();
        _head.Dispose();
        _headModulation.Dispose();
        RopeTable.Dispose();
    }

    private static WanWeights RoundedToBf16(WanWeights w)
    {
        var rounded = new Dictionary<string, Tensor>();
        try
        {
            foreach (string name in w.Names)
            {
                rounded[name] = w[name].To(Backends.Host, DType.BF16);
            }
            return WanWeights.FromTensors(w.Config, rounded, "bf16 weights");
        }
        catch
        {
            foreach (var t in rounded.Values)
            {
                t.Dispose();
            }
            throw;
        }
    }

    private static void Upload(Tensor t, float[] values)
    {
        if (t.DType == DType.F32)
        {
            t.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
        }
        else
        {
            t.WriteDoubles(values.Select(v => (double)v).ToArray());
        }
    }
}
