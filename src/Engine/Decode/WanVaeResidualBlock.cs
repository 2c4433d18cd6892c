// WanVaeResidualBlock: vae.py's ResidualBlock. residual = RMS_norm, SiLU, CausalConv3d 3x3x3,
// RMS_norm, SiLU, (dropout: identity at inference), CausalConv3d 3x3x3; shortcut = a 1x1x1 conv
// when the width changes, the identity otherwise; out = residual + shortcut. Each norm (SiLU
// fused) writes straight into its conv's window, behind that conv's cached frames; the second
// conv adds the shortcut in its epilogue (conv3d's residual input).
using Zoetrope.Attention.Norm;

namespace Zoetrope.Engine.Decode;

/// <summary>ResidualBlock on the device.</summary>
internal sealed class WanVaeResidualBlock : IWanVaeBlock
{
    private readonly Tensor _gamma1;
    private readonly Tensor _gamma2;
    private readonly WanVaeConv _conv1;
    private readonly WanVaeConv _conv2;
    private readonly WanVaeConv? _shortcut;

    public WanVaeResidualBlock(Backend backend, DType dtype, WanVaeWeights w, WanVaeBlockSpec spec, int height, int width)
    {
        string p = spec.Prefix;
        _gamma1 = WanVaeConv.Vector(backend, dtype, w[$"{p}.residual.0.gamma"]);
        _gamma2 = WanVaeConv.Vector(backend, dtype, w[$"{p}.residual.3.gamma"]);
        _conv1 = new WanVaeConv(backend, dtype, w[$"{p}.residual.2.weight"], w[$"{p}.residual.2.bias"], height, width);
        _conv2 = new WanVaeConv(backend, dtype, w[$"{p}.residual.6.weight"], w[$"{p}.residual.6.bias"], height, width);
        if (spec.InDim != spec.OutDim)
        {
            _shortcut = new WanVaeConv(backend, dtype, w[$"{p}.shortcut.weight"], w[$"{p}.shortcut.bias"], height, width);
        }
    }

    public Tensor Forward(WanVaeScratch scratch, Tensor x, string outSlot)
    {
        int frames = (int)x.Shape[0];
        var outShape = new Shape(frames, x.Shape[1], x.Shape[2], _conv2.Cout);
        var window = _conv1.Window(scratch, frames);
        ChannelRmsNorm.Run(x, _gamma1, null, _conv1.Fresh(window), silu: true);
        var mid = scratch.Take("mid", outShape);
        _conv1.Run(window, null, mid);
        var identity = x;
        if (_shortcut is not null)
        {
            identity = scratch.Take("short", outShape);
            _shortcut.Run(x, null, identity);
        }
        window = _conv2.Window(scratch, frames);
        ChannelRmsNorm.Run(mid, _gamma2, null, _conv2.Fresh(window), silu: true);
        var y = scratch.Take(outSlot, outShape);
        _conv2.Run(window, identity, y);
        return y;
    }

    public void Reset()
    {
        _conv1.Reset();
        _conv2.Reset();
    }

    public void Dispose()
    {
        _gamma1.Dispose();
        _gamma2.Dispose();
        _conv1.Dispose();
        _conv2.Dispose();
        _shortcut?.Dispose();
    }
}
