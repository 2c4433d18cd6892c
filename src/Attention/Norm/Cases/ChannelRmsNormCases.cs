using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Norm;

/// <summary>
/// channel_rms_norm's cases: every float dtype, with and without SiLU and bias, channel counts of
/// the Wan VAE decoder (96, 192, 384) and ones that are not a multiple of a warp; Wan-VAE shapes at
/// 480x832 for the benchmarks. The emulator rows follow kernels/norm/channel_rms_norm.cu's
/// policy (a group of G lanes per pixel, G the power of two at or above the pixel's 16-byte
/// packs, at most 32; 128 threads, so 128 / G pixels a block; 4 packs a lane in registers, any
/// beyond re-read): a partial last block with G = 16 (96 bf16 channels) and G = 4 (16 f32, 32
/// pixels a block, one live), the tail loop for packs (129 f16 packs at G = 32) and for single
/// elements (129 channels), single elements with G = 16 (13), three packs a lane (384 f32).
/// </summary>
internal static class ChannelRmsNormCases
{
    /// <summary>The table.</summary>
    public static OpCaseTable<ChannelRmsNorm.Params> Table { get; } = new()
    {
        Cases =
        [
            .. new[] { DType.F32, DType.F16, DType.BF16 }.SelectMany(d => new[]
            {
                new OpCase<ChannelRmsNorm.Params>(new(d, 37, 96, Silu: true)),
                new OpCase<ChannelRmsNorm.Params>(new(d, 5, 384, HasBias: true, Silu: true)),
                new OpCase<ChannelRmsNorm.Params>(new(d, 19, 13)),
                new OpCase<ChannelRmsNorm.Params>(new(d, 64, 16, HasBias: true)),
            }),
            new OpCase<ChannelRmsNorm.Params>(new(DType.BF16, 17, 96, Silu: true), CaseUse.Check | CaseUse.Emulator),
            new OpCase<ChannelRmsNorm.Params>(new(DType.F32, 33, 16, HasBias: true), CaseUse.Check | CaseUse.Emulator),
            new OpCase<ChannelRmsNorm.Params>(new(DType.F16, 2, 1032, HasBias: true, Silu: true), CaseUse.Check | CaseUse.Emulator),
            new OpCase<ChannelRmsNorm.Params>(new(DType.BF16, 3, 129, HasBias: true, Silu: true), CaseUse.Check | CaseUse.Emulator),
            new OpCase<ChannelRmsNorm.Params>(new(DType.F32, 11, 13, Silu: true), CaseUse.Check | CaseUse.Emulator),
            new OpCase<ChannelRmsNorm.Params>(new(DType.F32, 3, 384, HasBias: true, Silu: true), CaseUse.Check | CaseUse.Emulator),
            new OpCase<ChannelRmsNorm.Params>(new(DType.BF16, 4L * 240 * 416, 192, Silu: true), CaseUse.Bench),
            new OpCase<ChannelRmsNorm.Params>(new(DType.BF16, 4L * 480 * 832, 96, Silu: true), CaseUse.Bench),
        ],
        Tolerances = NormCases.Tolerances,
    };
}
