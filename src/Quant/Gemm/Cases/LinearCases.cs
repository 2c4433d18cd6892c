using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Quant.Gemm;

/// <summary>
/// Shapes shared by the linear tables: M = 1 and N = 1, sizes that are no tile multiple, with and
/// without bias and GELU; the extra roundings of an eager bf16 model (rounding=per-op,
/// bias_add=separate, both) on f16/bf16 (where they round) and f32 (where they are the identity);
/// Wan-1.3B's projections for benches: M in {4680 (a 3-frame block), 32760 (21 frames)}, (K, N)
/// in {(1536, 1536), (1536, 8960), (8960, 1536)}.
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

    // For the emulated device (kernels/gemm/gemm_policy.h: 128 x 128 tiles, 64 bytes of K per
    // stage; f32 on 16 x 16 SIMT tiles): rows of K = 33 or 31 are not 16-byte aligned (the
    // register-staged instance), M or N just past 64, and (f32) 16 x 16 tiles plus and minus one;
    // then one shape with aligned rows (the cp.async instance): M and N a tile plus a few, and K
    // ending inside a stage (104 halves = 3.25 stages; 272 bytes = 4.25 stages and, for the
    // INT8 block scheme, two whole 128-wide scale tiles and a partial one).
    /// <summary>Per-op GELU, separate bias, both: for shapes with bias and GELU, so every flag rounds.</summary>
    public static readonly (Rounding Rounding, bool SeparateBias)[] MatchRounding =
    [
        (Rounding.PerOp, false),
        (Rounding.Fused, true),
        (Rounding.PerOp, true),
    ];

    public static readonly (long M, long N, long K, bool Bias, bool Gelu)[] Emulator =
    [
        (65, 9, 33, true, false),
        (7, 65, 31, false, true),
        (17, 15, 33, true, true),
    ];

    /// <summary>The aligned emulator shape: <see cref="Emulator"/>'s note; K is per operand type.</summary>
    public const long AlignedM = 130, AlignedN = 136, AlignedKHalf = 104, AlignedKByte = 272;

    /// <summary>The emulated backends' work cap for the linear tables: the aligned shape's 2MNK (9.6e6) fits.</summary>
    public const double EmulatedWork = 1 << 24;

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
            new OpCase<Linear.Params>(new(DType.F16, AlignedM, AlignedN, AlignedKHalf, true, true), CaseUse.Emulator),
            .. new[] { DType.F16, DType.BF16, DType.F32 }.SelectMany(d => MatchRounding.Select(r => new OpCase<Linear.Params>(new(d, 17, 9, 40, true, true, r.Rounding, r.SeparateBias)))),
            // The emulated device: both flags through the quad epilogue (the aligned shape) and the per-element one (K = 33, N = 15).
            new OpCase<Linear.Params>(new(DType.BF16, AlignedM, AlignedN, AlignedKHalf, true, true, Rounding.PerOp, true), CaseUse.Emulator),
            new OpCase<Linear.Params>(new(DType.F16, 17, 15, 33, true, true, Rounding.PerOp, true), CaseUse.Emulator),
            // K % 8 == 0 with M tiny and N odd: on an sm_90 part the TMA + wgmma kernel's zero fill and element-wise stores.
            new OpCase<Linear.Params>(new(DType.BF16, 7, 65, 40, false, true), CaseUse.Emulator),
            .. Bench.Select(c => new OpCase<Linear.Params>(new(DType.BF16, c.M, c.N, c.K, true, false), CaseUse.Bench)),
            // The FFN's first projection as the eager bf16 pipelines round it (nn.Linear, then nn.GELU): the cost of the extra rounding and of leaving CUTLASS.
            new OpCase<Linear.Params>(new(DType.BF16, 4680, 8960, 1536, true, true, Rounding.PerOp), CaseUse.Bench),
        ],
        // f32: K-long fp32 sums; narrow types: the output rounding.
        Tolerances = ToleranceTable.Rounding.With(DType.F32, new Tolerance(1e-5)),
        Caps = BackendCaps.Default.WithEmulated(EmulatedWork),
    };
}

