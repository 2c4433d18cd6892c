// QkPath: Wan's query/key path for self-attention, from the q or k projection [N, dim] to what
// the attention kernel reads: RMSNorm over the full dim with the layer's weight, the head split,
// and 3D RoPE with the frames at a temporal position. Fused (the default), one op writes the
// rotated NHD result straight into its destination (a cache slot range, or the forward's own
// buffer); unfused, rms_norm then rope_apply through a scratch buffer, kept to compare against.
// For Sage the same op quantizes: Q with 128 rows per scale and sm_scale * log2(e) folded in, K
// with one scale per token and head after subtracting a smoothing vector (computed, or given).
// Under Rounding.PerOp (the reference numerics) the path is unfused: WanRMSNorm rounds the
// normalised rows before the weight multiply and RoPE rounds its own output.
using Zoetrope.Attention;
using Zoetrope.Attention.Norm;
using Zoetrope.Attention.Rope;

namespace Zoetrope.Engine;

/// <summary>QK-norm + RoPE (+ Sage INT8) for one model.</summary>
internal sealed class QkPath(DiTConfig config, Tensor table, bool fused, Rounding rounding = Rounding.Fused)
{
    /// <summary>Whether the norm and the rotation run as one op (not under the per-op rounding of the reference numerics).</summary>
    public bool Fused => fused && rounding == Rounding.Fused;

    /// <summary>
    /// <paramref name="raw"/> [N, dim] normed with <paramref name="weight"/> and rotated with its frames at
    /// <paramref name="position"/>.. into <paramref name="dst"/> [1, N, H, D]; the unfused path stages the
    /// normed rows in <paramref name="scratch"/> [1, N, H, D].
    /// </summary>
    public void NormRope(Tensor raw, Tensor weight, Tensor dst, Tensor scratch, int frames, long position)
    {
        var grid = FrameRope.Grid(config, frames, position);
        if (Fused)
        {
            QkNormRope.Run(Tokens(raw), weight, table, dst, config.Heads, grid, eps: DiTConfig.Eps, layout: HeadLayout.Nhd);
            return;
        }
        Norm(raw, weight, scratch);
        RopeApply.Run(scratch, table, dst, HeadLayout.Nhd, grid);
    }

    /// <summary><paramref name="raw"/> [N, dim] normed with <paramref name="weight"/>, not rotated, into <paramref name="dst"/> [1, N, H, D].</summary>
    public void Norm(Tensor raw, Tensor weight, Tensor dst) =>
        RmsNorm.Run(raw, weight, dst.Reshape(new Shape(dst.Shape[1], (long)config.Dim)), DiTConfig.Eps, rounding);

    /// <summary>Sage's Q: INT8 codes [1, N, H, D] and scales [1, H, ceil(N / 128)], sm_scale * log2(e) folded in.</summary>
    public void QueryInt8(Tensor raw, Tensor weight, Tensor q, Tensor scale, int frames, long position)
    {
        RequireFused("Sage's query quantization");
        var x = Tokens(raw);
        var g = QkGeometry.Of(x, table, config.Heads, FrameRope.Grid(config, frames, position), null, DiTConfig.Eps, HeadLayout.Nhd);
        QkNormRopeInt8.Run(QkNormRopeInt8.Params.Query(x.DType, g, perWarp: false), x, weight, table, q, scale, null);
    }

    /// <summary>
    /// Sage's K: INT8 codes [1, N, H, D] and one scale per token and head [1, N, H], smoothed by
    /// <paramref name="mean"/> [1, H, D]: subtracted as given when <paramref name="meanGiven"/>, else
    /// computed over these tokens and written there.
    /// </summary>
    public void KeyInt8(Tensor raw, Tensor weight, Tensor k, Tensor scale, Tensor mean, bool meanGiven, int frames, long position)
    {
        RequireFused("Sage's key quantization");
        var x = Tokens(raw);
        var g = QkGeometry.Of(x, table, config.Heads, FrameRope.Grid(config, frames, position), null, DiTConfig.Eps, HeadLayout.Nhd);
        QkNormRopeInt8.Run(QkNormRopeInt8.Params.KeyPerToken(x.DType, g, meanGiven), x, weight, table, k, scale, mean);
    }

    private Tensor Tokens(Tensor raw) => raw.Reshape(new Shape(1, raw.Shape[0], raw.Shape[1]));

    private void RequireFused(string what)
    {
        if (!fused)
        {
            throw new NotSupportedException($"engine: {what} is part of the fused qk_norm_rope_int8 op; it has no unfused form (leave FusedQk on)");
        }
    }
}
