using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Quant.Gemm;

/// <summary>
/// Shapes shared by the linear tables: M = 1 and N = 1, sizes that are no tile multiple, with and
/// without bias and GELU; Wan-1.3B's projections for benches: M in {4680 (a 3-frame block),
/// 32760 (21 frames)}, (K, N) in {(1536, 1536), (1536, 8960), (8960, 1536)}.
/// </summary>
internal static class LinearCases
{
    public static readonly (long M, long N, long K, bool Bias, bool Gelu)[] Check =
    [
        (1, 1, 1, false, false),
        (1, 7, 33, true, false),
        (5, 1, 64, false, true),
        (17, 9, 40, true, true),
    ];

    // For the emulated device (kernels/gemm/gemm_policy.h: 64 x 64 tiles, K in steps of 32; f32 on
    // 16 x 16 SIMT tiles): M a tile plus one with K a step plus one, N a tile plus one with K a
    // step minus one, and (f32) 16 x 16 tiles plus and minus one.
    public static readonly (long M, long N, long K, bool Bias, bool Gelu)[] Emulator =
    [
        (65, 9, 33, true, false),
        (7, 65, 31, false, true),
        (17, 15, 33, true, true),
    ];

    public static readonly (long M, long N, long K)[] Bench =
    [
        (4680, 1536, 1536), (4680, 8960, 1536), (4680, 1536, 8960),
        (32760, 1536, 1536), (32760, 8960, 1536), (32760, 1536, 8960),
    ];

    /// <summary>linear's table.</summary>
    public static OpCaseTable<Linear.Params> Table { get; } = new()
    {
        Cases =
        [
            .. new[] { DType.F32, DType.F16, DType.BF16 }.SelectMany(d => Check.Select(c => new OpCase<Linear.Params>(new(d, c.M, c.N, c.K, c.Bias, c.Gelu)))),
            .. Emulator.Select((c, i) => new OpCase<Linear.Params>(new(new[] { DType.F16, DType.BF16, DType.F32 }[i], c.M, c.N, c.K, c.Bias, c.Gelu), CaseUse.Emulator)),
            .. Bench.Select(c => new OpCase<Linear.Params>(new(DType.BF16, c.M, c.N, c.K, true, false), CaseUse.Bench)),
        ],
        // f32: K-long fp32 sums; narrow types: the output rounding.
        Tolerances = ToleranceTable.Rounding.With(DType.F32, new Tolerance(1e-5)),
    };
}

