using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Rope;

/// <summary>Recovers a <see cref="QkGeometry"/> from run-op inputs (x, table) and attributes (heads, frames, height, width, frame_offset, eps).</summary>
internal static class QkBinding
{
    public static QkGeometry Geometry(OpBinding binding)
    {
        var grid = new RopeGrid((int)binding.Int("frames", 1), (int)binding.Int("height", 1), (int)binding.Int("width", 1), (int)binding.Int("frame_offset", 0));
        return QkGeometry.Of(binding.Input("x"), binding.Input("table"), (int)binding.Int("heads", 1), grid, null, binding.Float("eps", 1e-6f));
    }
}
