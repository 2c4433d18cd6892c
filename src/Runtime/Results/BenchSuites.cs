// Which ops each benchmark suite measures: the one table the `zoe bench` suites and the
// BenchmarkDotNet project share (shapes come from each op's own case table, never from here).
// A test checks that every registered op belongs to exactly one suite.
namespace Zoetrope.Runtime.Results;

/// <summary>Benchmark suites by op family.</summary>
internal static class BenchSuites
{
    private static readonly (string Suite, string[] Ops)[] Table =
    [
        ("core", ["axpby", "softmax"]),
        ("norm", ["rms_norm", "layer_norm", "adaln_modulate", "gated_residual", "gated_residual_adaln"]),
        ("rope", ["rope_apply", "qk_norm_rope", "qk_norm_rope_int8"]),
        ("quant", ["quantize", "dequantize"]),
        ("gemm", ["linear", "linear_int8", "linear_fp8"]),
        ("attention", ["attention", "sage_attention", "sage_quantize"]),
        ("sparse", ["block_map", "block_sparse_attention", "linear_attention", "sla"]),
        ("decode", ["conv3d", "channel_rms_norm"]),
    ];

    /// <summary>The op suites' names (the streaming suite, <c>stream</c>, lives in the engine).</summary>
    public static IReadOnlyList<string> Names { get; } = Table.Select(t => t.Suite).ToArray();

    /// <summary>The ops of <paramref name="suite"/> (or of every suite for <c>all</c>).</summary>
    /// <exception cref="ArgumentException">An unknown suite; the message lists them.</exception>
    public static IReadOnlyList<string> Ops(string suite)
    {
        ArgumentNullException.ThrowIfNull(suite);
        if (suite == "all")
        {
            return Table.SelectMany(t => t.Ops).ToArray();
        }
        foreach (var (name, ops) in Table)
        {
            if (name == suite)
            {
                return ops;
            }
        }
        throw new ArgumentException($"unknown suite '{suite}'; suites: {string.Join(", ", Names)}, stream, all", nameof(suite));
    }

    /// <summary>The suite <paramref name="op"/> belongs to, or null.</summary>
    public static string? SuiteOf(string op) => Table.FirstOrDefault(t => t.Ops.Contains(op)).Suite;
}
