using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Quant.Gemm;

/// <summary>linear_fp8's cases: <see cref="LinearCases"/>' shapes into f32 and bf16; the extra roundings (<see cref="LinearCases.MatchRounding"/>), one on the emulated device; on an sm_90 part the K % 16 == 0 emulator shapes run the sm_90a kernel (one of them five 128-wide K blocks: its promotion into fp32); the Wan projections for benches.</summary>
internal static class LinearFp8Cases
{
    /// <summary>The table.</summary>
    public static OpCaseTable<LinearFp8.Params> Table { get; } = new()
    {
        Cases =
        [
            .. LinearCases.Check.Select((c, i) => new OpCase<LinearFp8.Params>(new(i % 2 == 0 ? DType.F32 : DType.BF16, c.M, c.N, c.K, c.Bias, c.Gelu))),
            .. LinearCases.Emulator.Take(2).Select((c, i) => new OpCase<LinearFp8.Params>(new(i == 0 ? DType.F32 : DType.BF16, c.M, c.N, c.K, c.Bias, c.Gelu), CaseUse.Emulator)),
            // The aligned (cp.async) shape, narrower than LinearCases.Aligned*: ILGPU's FP8 kernel
            // is a CUDA-core loop and the full shape costs it 11 s on ilgpu-emu. M two tiles, N
            // and K (80 bytes = 1.25 stages) inside one.
            new OpCase<LinearFp8.Params>(new(DType.BF16, LinearCases.AlignedM, 72, 80, true, false), CaseUse.Emulator),
            // K % 16 == 0 with M tiny, N odd, f32 out and GELU: on an sm_90 part the TMA + wgmma
            // kernel's zero fill and element-wise stores (the shape above runs it with paired stores).
            new OpCase<LinearFp8.Params>(new(DType.F32, 7, 65, 48, true, true), CaseUse.Emulator),
            // Five 128-wide K blocks, the last 16 wide: on an sm_90 part the kernel's partial sums
            // promoted into fp32 after every stage, over more stages than the ring holds.
            new OpCase<LinearFp8.Params>(new(DType.F32, 20, 40, 528, false, false), CaseUse.Emulator),
            .. LinearCases.MatchRounding.Select((r, i) => new OpCase<LinearFp8.Params>(new(i % 2 == 0 ? DType.BF16 : DType.F16, 17, 9, 40, true, true, r.Rounding, r.SeparateBias))),
            new OpCase<LinearFp8.Params>(new(DType.BF16, 17, 15, 33, true, true, Rounding.PerOp, true), CaseUse.Emulator),
            .. LinearCases.Bench.Select(c => new OpCase<LinearFp8.Params>(new(DType.BF16, c.M, c.N, c.K, true, false), CaseUse.Bench)),
        ],
        // E4M3 products are exact in fp32; the K-long fp32 sum and the scaling round a little.
        Tolerances = ToleranceTable.Rounding.With(DType.F32, new Tolerance(1e-5)),
        Caps = BackendCaps.Default.WithEmulated(LinearCases.EmulatedWork),
    };
}
