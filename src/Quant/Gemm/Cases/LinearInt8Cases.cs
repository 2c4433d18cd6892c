using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Quant.Gemm;

/// <summary>
/// linear_int8's cases: both schemes over <see cref="LinearCases"/>' shapes, plus K = 300 (three
/// 128-wide K tiles, the last partial) and M = 130 (two row tiles) for the block scheme; the
/// Wan projections for benches. Emulator: the block scheme with K a 128-wide scale tile plus one
/// and M just past 64; per token x channel with N just past 64 (both with unaligned rows); the
/// block scheme on <see cref="LinearCases"/>' aligned shape (the cp.async path), and per token x
/// channel on it and on a small odd-N shape with K % 16 == 0 (the sm_90a kernel on an sm_90 part,
/// as the block scheme's K % 16 == 0 shapes, one of them five K blocks long). The extra roundings
/// (<see cref="LinearCases.MatchRounding"/>) on both schemes, one on the emulated device.
/// </summary>
internal static class LinearInt8Cases
{
    /// <summary>The table.</summary>
    public static OpCaseTable<LinearInt8.Params> Table { get; } = new()
    {
        Cases =
        [
            .. new[] { W8A8Scheme.PerTokenPerChannel, W8A8Scheme.Block128 }.SelectMany(s => LinearCases.Check.Select((c, i) =>
                new OpCase<LinearInt8.Params>(new(i % 2 == 0 ? DType.F32 : DType.BF16, c.M, c.N, c.K, s, c.Bias, c.Gelu)))),
            new OpCase<LinearInt8.Params>(new(DType.F32, 3, 10, 300, W8A8Scheme.Block128, true, false)),
            new OpCase<LinearInt8.Params>(new(DType.F16, 130, 17, 160, W8A8Scheme.Block128, false, false)),
            new OpCase<LinearInt8.Params>(new(DType.F32, 130, 17, 160, W8A8Scheme.PerTokenPerChannel, false, true)),
            new OpCase<LinearInt8.Params>(new(DType.F32, 65, 3, 129, W8A8Scheme.Block128, true, false), CaseUse.Emulator),
            new OpCase<LinearInt8.Params>(new(DType.BF16, 7, 65, 33, W8A8Scheme.PerTokenPerChannel, false, true), CaseUse.Emulator),
            new OpCase<LinearInt8.Params>(new(DType.F16, LinearCases.AlignedM, LinearCases.AlignedN, LinearCases.AlignedKByte, W8A8Scheme.Block128, true, false), CaseUse.Emulator),
            // Per token x channel with 16-byte rows: the sm_90a TMA + wgmma kernel on an sm_90 part (the aligned shape: two M tiles, a partial K stage;
            // then N odd and f32 out: the element-wise stores).
            new OpCase<LinearInt8.Params>(new(DType.BF16, LinearCases.AlignedM, LinearCases.AlignedN, LinearCases.AlignedKByte, W8A8Scheme.PerTokenPerChannel, true, true), CaseUse.Emulator),
            new OpCase<LinearInt8.Params>(new(DType.F32, 7, 65, 48, W8A8Scheme.PerTokenPerChannel, true, false), CaseUse.Emulator),
            // The block scheme on the sm_90a kernel (an sm_90 part; the aligned block case above runs it too, 2 x 2 tiles of 3 K blocks):
            // five K blocks, more than the ring's 4 stages, the last one 16 wide; N odd (element-wise stores), bias and GELU.
            new OpCase<LinearInt8.Params>(new(DType.BF16, 20, 65, 528, W8A8Scheme.Block128, true, true), CaseUse.Emulator),
            .. new[] { W8A8Scheme.PerTokenPerChannel, W8A8Scheme.Block128 }.SelectMany(s => LinearCases.MatchRounding.Select((r, i) =>
                new OpCase<LinearInt8.Params>(new(i % 2 == 0 ? DType.BF16 : DType.F16, 17, 9, 40, s, true, true, r.Rounding, r.SeparateBias)))),
            new OpCase<LinearInt8.Params>(new(DType.BF16, 17, 15, 33, W8A8Scheme.PerTokenPerChannel, true, true, Rounding.PerOp, true), CaseUse.Emulator),
            .. LinearCases.Bench.SelectMany(c => new[] { W8A8Scheme.PerTokenPerChannel, W8A8Scheme.Block128 }
                .Select(s => new OpCase<LinearInt8.Params>(new(DType.BF16, c.M, c.N, c.K, s, true, false), CaseUse.Bench))),
        ],
        // Exact int32 sums, fp32 scaling: a few roundings; narrow outputs: the output rounding.
        Tolerances = ToleranceTable.Rounding.With(DType.F32, new Tolerance(1e-5)),
        Caps = BackendCaps.Default.With(BackendKind.IlgpuCpu, 1 << 23).WithEmulated(LinearCases.EmulatedWork),
    };
}
