using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Rope;

/// <summary>
/// The run-op attributes of the RoPE ops: the token grid (frames, height, width, frame_offset),
/// and for the fused q/k ops heads, eps and the output layout; and the <see cref="QkGeometry"/> they give with the
/// inputs x and table.
/// </summary>
internal static class QkBinding
{
    public static OpAttr<int> Frames { get; } = OpAttr.Int("frames", 1, "latent frames in the token grid (tokens = frames x height x width)", min: 1);

    public static OpAttr<int> Height { get; } = OpAttr.Int("height", 1, "grid rows per frame", min: 1);

    public static OpAttr<int> Width { get; } = OpAttr.Int("width", 1, "grid columns per frame", min: 1);

    public static OpAttr<int> FrameOffset { get; } = OpAttr.Int("frame_offset", 0, "the first frame's position (the streaming cache's absolute frame index)", min: 0);

    public static OpAttr<int> Heads { get; } = OpAttr.Int("heads", 1, "heads in x's last dim (dim = heads x head dim)", min: 1);

    public static OpAttr<float> Eps { get; } = OpAttr.Float("eps", 1e-6f, "RMS norm epsilon", min: 0);

    /// <summary>The grid attributes.</summary>
    public static OpAttributes GridAttributes { get; } = OpAttributes.Of(Frames, Height, Width, FrameOffset);

    /// <summary>Everything <see cref="Geometry"/> reads.</summary>
    public static OpAttributes Attributes { get; } = GridAttributes.With(Heads, Eps, Flash.AttentionGeometry.LayoutAttr);

    public static RopeGrid Grid(OpBinding binding) => new(binding.Get(Frames), binding.Get(Height), binding.Get(Width), binding.Get(FrameOffset));

    public static QkGeometry Geometry(OpBinding binding) =>
        QkGeometry.Of(binding.Input("x"), binding.Input("table"), binding.Get(Heads), Grid(binding), null, binding.Get(Eps),
            binding.Get(Flash.AttentionGeometry.LayoutAttr) == "nhd" ? HeadLayout.Nhd : HeadLayout.Hnd);

    public static OpAttributeValues Describe(RopeGrid grid, OpAttributeValues values) =>
        values.Set(Frames, grid.Frames).Set(Height, grid.Height).Set(Width, grid.Width).Set(FrameOffset, grid.FrameOffset);

    public static OpAttributeValues Describe(QkGeometry g) => Describe(g.Grid, new OpAttributeValues()).Set(Heads, g.Heads).Set(Eps, g.Eps)
        .Set(Flash.AttentionGeometry.LayoutAttr, g.Layout == HeadLayout.Nhd ? "nhd" : "hnd");
}
