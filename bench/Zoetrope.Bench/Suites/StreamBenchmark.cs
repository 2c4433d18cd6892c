using BenchmarkDotNet.Attributes;
using Zoetrope.Engine;
using Zoetrope.Quant;
using Zoetrope.Runtime;

namespace Zoetrope.Bench.Suites;

/// <summary>
/// One streaming block (4 steps + the clean re-run, longlive preset, seeded random weights) of
/// the model ZOETROPE_BENCH_MODEL (default tiny; wan-1.3b on GPUs) on ZOETROPE_BENCH_BACKEND, per
/// kernel variant. FPS = 12 video frames / the block's time. The cache is warm (past the window)
/// before measuring, so every measured block evicts.
/// </summary>
public class StreamBenchmark
{
    private WanWeights _weights = null!;
    private WanModel _model = null!;
    private StreamingSession _session = null!;

    /// <summary>Attention and linear path (turbo: SageSLA + W8A8 128x128 blocks, bf16).</summary>
    [Params("dense-bf16", "dense-w8a8", "sla-w8a8", "turbo")]
    public string Variant { get; set; } = "dense-bf16";

    /// <summary>Builds the model and fills the cache.</summary>
    [GlobalSetup]
    public void Setup()
    {
        (_weights, _model) = EngineBenchModel.Build(Variant);
        var config = _model.Config;
        var text = Tensor.FromDoubles(new double[(long)config.TextTokens * config.TextDim], DType.F32, new Shape(config.TextTokens, config.TextDim), "text");
        _session = new StreamingSession(_model, text, StreamOptions.LongLive);
        text.Dispose();
        int warm = StreamOptions.LongLive.BlocksToFillCache;
        for (int i = 0; i < warm; i++)
        {
            _session.GenerateBlock();
        }
    }

    /// <summary>One block, synchronized.</summary>
    [Benchmark]
    public LatentBlock Block() => _session.GenerateBlock();

    /// <summary>Frees everything.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _session.Dispose();
        _model.Dispose();
        _weights.Dispose();
    }
}

/// <summary>
/// One-shot generation (TurboDiffusion's workload) at its shapes: 21 latent frames denoised
/// together in 4 steps (StreamBench.Generate), bidirectional attention over every token, seeded
/// random weights of ZOETROPE_BENCH_MODEL (default tiny; wan-1.3b on GPUs, 32,760 tokens per
/// forward) on ZOETROPE_BENCH_BACKEND, per kernel variant. One operation = the whole generation.
/// </summary>
public class GenerateBenchmark
{
    private WanWeights _weights = null!;
    private WanModel _model = null!;
    private TextContext _prompt = null!;
    private OneShotGenerator _generator = null!;

    /// <summary>Attention and linear path (turbo: SageSLA + W8A8 128x128 blocks, bf16).</summary>
    [Params("dense-bf16", "turbo")]
    public string Variant { get; set; } = "dense-bf16";

    /// <summary>Builds the model and encodes a prompt.</summary>
    [GlobalSetup]
    public void Setup()
    {
        (_weights, _model) = EngineBenchModel.Build(Variant);
        var config = _model.Config;
        using var text = GaussianNoise.Sample(1, new Shape(config.TextTokens, config.TextDim), "text");
        _prompt = _model.EncodeText(text);
        _generator = new OneShotGenerator(_model, StreamBench.Generate);
    }

    /// <summary>One generation, all steps, synchronized.</summary>
    [Benchmark]
    public GeneratedLatents Generate() => _generator.Generate(_prompt);

    /// <summary>Frees everything.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _prompt.Dispose();
        _model.Dispose();
        _weights.Dispose();
    }
}

/// <summary>
/// The model both engine benchmarks build: seeded random weights of ZOETROPE_BENCH_MODEL (default
/// tiny) on ZOETROPE_BENCH_BACKEND (default reference), with the variant's kernels as the stream
/// suite runs them (StreamBench.OptionsFor: bf16 on GPUs and for the Sage kernels, f32 on CPUs).
/// </summary>
internal static class EngineBenchModel
{
    public static (WanWeights Weights, WanModel Model) Build(string variant)
    {
        var backend = Backends.Get(Environment.GetEnvironmentVariable("ZOETROPE_BENCH_BACKEND") ?? "reference");
        var config = DiTConfig.Get(Environment.GetEnvironmentVariable("ZOETROPE_BENCH_MODEL") ?? "tiny");
        var (attention, linear) = variant switch
        {
            "turbo" => StreamBench.Turbo,
            _ => (variant.StartsWith("sla", StringComparison.Ordinal) ? AttentionMode.Sla : AttentionMode.Dense,
                variant.EndsWith("w8a8", StringComparison.Ordinal) ? LinearPath.Int8 : LinearPath.Bf16),
        };
        var weights = WanWeights.Random(config, 1);
        return (weights, new WanModel(backend, weights, StreamBench.OptionsFor(backend.Kind, attention, linear)));
    }
}
