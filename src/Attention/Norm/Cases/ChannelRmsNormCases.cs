using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Norm;

/// <summary>
/// channel_rms_norm's cases: every float dtype, with and without SiLU and bias, channel counts of
/// the Wan VAE decoder (96, 192, 384) and ones that are not a multiple of a warp; Wan-VAE shapes at
/// 480x832 for the benchmarks.
/// </summary>
public static class ChannelRmsNormCases
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
            new OpCase<ChannelRmsNorm.Params>(new(DType.BF16, 4L * 240 * 416, 192, Silu: true), CaseUse.Bench),
            new OpCase<ChannelRmsNorm.Params>(new(DType.BF16, 4L * 480 * 832, 96, Silu: true), CaseUse.Bench),
        ],
        Tolerances = NormCases.Tolerances,
    };
}
