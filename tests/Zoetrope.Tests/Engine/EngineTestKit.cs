using NUnit.Framework;
using Zoetrope.Engine;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Checking;

namespace Zoetrope.Tests.Engine;

/// <summary>Shared pieces of the engine tests: the tiny model's seeded weights, prompts, comparisons.</summary>
internal static class EngineTestKit
{
    private static readonly Lazy<WanWeights> TinyWeights = new(() => WanWeights.Random(DiTConfig.Tiny, seed: 7));

    /// <summary>The micro preset (see <see cref="DiTConfig.Micro"/>).</summary>
    public static DiTConfig Micro => DiTConfig.Micro;

    private static readonly Lazy<WanWeights> MicroWeights = new(() => WanWeights.Random(Micro, seed: 7));

    /// <summary>The config the engine tests use on <paramref name="backend"/>: tiny on reference, micro on ilgpu-cpu.</summary>
    public static DiTConfig ConfigFor(string backend) => backend == "reference" ? DiTConfig.Tiny : Micro;

    /// <summary>Seeded random weights for <paramref name="backend"/>'s config (shared; do not dispose).</summary>
    public static WanWeights WeightsFor(string backend) => backend == "reference" ? TinyWeights.Value : MicroWeights.Value;

    /// <summary>The CPU backends every engine test runs on.</summary>
    public static IEnumerable<string> CpuBackends => ["reference", "ilgpu-cpu"];

    /// <summary>The test model of <paramref name="backend"/> (see <see cref="ConfigFor"/>) in f32.</summary>
    public static WanModel Model(string backend, ModelOptions? options = null) =>
        new(Backends.Get(backend), WeightsFor(backend), options ?? new ModelOptions { Activations = DType.F32 });

    /// <summary>A seeded prompt embedding [tokens, TextDim] on the host.</summary>
    public static Tensor Text(DiTConfig c, int seed, int tokens = 6) =>
        GaussianNoise.Sample((ulong)seed, new Shape(tokens, c.TextDim), $"text{seed}");

    /// <summary>Relative L2 distance of <paramref name="actual"/> from <paramref name="expected"/> (ErrorMetrics); every value must be finite.</summary>
    public static double RelL2(float[] expected, float[] actual)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length));
        var m = ErrorMetrics.Compare(expected.Select(x => (double)x).ToArray(), actual.Select(x => (double)x).ToArray());
        Assert.That(m.FirstNonFinite, Is.EqualTo(-1), $"element {m.FirstNonFinite} is not finite");
        return m.RelL2;
    }
}
