using BenchmarkDotNet.Attributes;

namespace Zoetrope.Bench.Suites;

/// <summary>The video decoders' ops: causal 3D convolution and the VAE's channel RMS norm, at Wan-VAE shapes.</summary>
[MemoryDiagnoser]
public class DecodeOpsBenchmark : OpBenchmarkBase
{
    /// <inheritdoc />
    protected override string Suite => "decode";
}
