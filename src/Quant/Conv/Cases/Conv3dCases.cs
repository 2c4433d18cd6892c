using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Quant.Conv;

/// <summary>
/// conv3d's cases: causal 3x3x3 and 1x1x1 (Wan's residual blocks and shortcuts), 3x1x1 with the
/// time shuffle (Wan's temporal upsampling), 2-D 3x3 with the folded upsampling (Wan's and TAEHV's
/// spatial upsampling), 2x3x3 with relu and a residual (TAEHV's MemBlock), cached frames in place
/// of the padding (time_pad 0), channel counts that are not multiples of a tile; Wan-VAE and TAEHV
/// layer shapes at 480x832 for the benchmarks; for the emulated device, shapes from the kernels'
/// tile policies (kernels/conv/conv_policy.h: 128 x 128 tiles, 32 channels of K per stage, cp.async
/// where Cin % 8 == 0; ILGPU and the CUDA f32 kernel: 64 x 64 tiles).
/// </summary>
internal static class Conv3dCases
{
    /// <summary>The table.</summary>
    public static OpCaseTable<Conv3d.Params> Table { get; } = new()
    {
        Cases =
        [
            .. FloatDTypes().SelectMany(d => new[]
            {
                new OpCase<Conv3d.Params>(new(d, 3, 5, 6, 8, 12, 3, 3, 3, 2, HasBias: true)),
                new OpCase<Conv3d.Params>(new(d, 2, 4, 3, 5, 7, 1, 1, 1, 0, HasBias: true, HasResidual: true)),
                new OpCase<Conv3d.Params>(new(d, 2, 3, 4, 6, 8, 3, 1, 1, 2, TimeShuffle: 2, HasBias: true)),
                new OpCase<Conv3d.Params>(new(d, 2, 3, 5, 6, 5, 1, 3, 3, 0, Upsample: 2, HasBias: true)),
                new OpCase<Conv3d.Params>(new(d, 3, 4, 4, 9, 9, 2, 3, 3, 1, HasBias: true, HasResidual: true, Act: ConvActivation.Relu)),
                new OpCase<Conv3d.Params>(new(d, 4, 3, 3, 4, 6, 3, 3, 3, 0, Act: ConvActivation.Silu)),
                new OpCase<Conv3d.Params>(new(d, 1, 4, 4, 16, 32, 1, 1, 1, 0, TimeShuffle: 4)),
            }),
            // Wan2.1 VAE decoder at 480x832 (one latent frame, 4 video frames after the temporal upsampling).
            new OpCase<Conv3d.Params>(new(DType.BF16, 1, 60, 104, 16, 384, 3, 3, 3, 2, HasBias: true), CaseUse.Bench),
            new OpCase<Conv3d.Params>(new(DType.BF16, 1, 60, 104, 384, 384, 3, 3, 3, 2, HasBias: true), CaseUse.Bench),
            new OpCase<Conv3d.Params>(new(DType.BF16, 4, 240, 416, 192, 192, 3, 3, 3, 2, HasBias: true), CaseUse.Bench),
            new OpCase<Conv3d.Params>(new(DType.BF16, 4, 240, 416, 192, 96, 1, 3, 3, 0, Upsample: 2, HasBias: true), CaseUse.Bench),
            new OpCase<Conv3d.Params>(new(DType.BF16, 4, 480, 832, 96, 96, 3, 3, 3, 2, HasBias: true), CaseUse.Bench),
            // TAEHV at 480x832: a MemBlock's first conv (x and the past frame) at the last stage.
            new OpCase<Conv3d.Params>(new(DType.BF16, 12, 480, 832, 64, 64, 2, 3, 3, 1, HasBias: true, Act: ConvActivation.Relu), CaseUse.Bench),
            // The emulated device. M, N a tile plus one (129) and minus one (127) with K ending inside a
            // stage (216 = 6.75 stages, 144 = 4.5), Cin = 8 (four taps per stage); Cin = 40 (chunks
            // crossing taps inside a stage); the folded upsampling across two M tiles; the time shuffle
            // with 4-channel stores (cg = 64); Cin % 8 != 0 (the element-wise gather, with the upsampling
            // and a 3-channel time shuffle; eight rows at most, the harness's cap); f32 past a 64 x 64 tile, and with the upsampling and shuffle.
            new OpCase<Conv3d.Params>(new(DType.F16, 1, 3, 43, 8, 129, 3, 3, 3, 2, HasBias: true, HasResidual: true, Act: ConvActivation.Silu), CaseUse.Emulator),
            new OpCase<Conv3d.Params>(new(DType.BF16, 1, 127, 1, 16, 127, 1, 3, 3, 0, HasBias: true, Act: ConvActivation.Relu), CaseUse.Emulator),
            new OpCase<Conv3d.Params>(new(DType.BF16, 2, 4, 5, 40, 24, 2, 3, 3, 1, HasBias: true), CaseUse.Emulator),
            new OpCase<Conv3d.Params>(new(DType.BF16, 1, 6, 11, 16, 64, 1, 3, 3, 0, Upsample: 2, HasBias: true, HasResidual: true), CaseUse.Emulator),
            new OpCase<Conv3d.Params>(new(DType.F16, 2, 4, 4, 32, 128, 3, 1, 1, 2, TimeShuffle: 2, HasBias: true, HasResidual: true), CaseUse.Emulator),
            new OpCase<Conv3d.Params>(new(DType.BF16, 2, 3, 5, 5, 6, 3, 3, 3, 2, Upsample: 2, TimeShuffle: 2, HasBias: true, Act: ConvActivation.Silu), CaseUse.Emulator),
            new OpCase<Conv3d.Params>(new(DType.F32, 2, 5, 7, 5, 65, 3, 3, 3, 2, HasBias: true, HasResidual: true, Act: ConvActivation.Silu), CaseUse.Emulator),
            new OpCase<Conv3d.Params>(new(DType.F32, 1, 3, 4, 8, 8, 1, 3, 3, 0, Upsample: 2, TimeShuffle: 4, HasBias: true, HasResidual: true), CaseUse.Emulator),
        ],
        // fp32 accumulation over K up to a few hundred: a few fp32 roundings; narrow types: the output rounding.
        Tolerances = ToleranceTable.Rounding.With(DType.F32, new Tolerance(1e-5)),
        // The emulated backends: the largest emulator case's 2MNK (7.2e6, 129 x 129 x 216) fits.
        Caps = BackendCaps.Default.WithEmulated(1 << 23),
    };

    private static DType[] FloatDTypes() => [DType.F32, DType.F16, DType.BF16];
}
