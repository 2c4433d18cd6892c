// WanVaeResampleBlock: vae.py's Resample in its two decoder modes.
//   upsample2d: nearest x2 then Conv2d(C, C/2, 3, pad 1), per frame: one conv3d (Kt = 1) with the
//     upsampling folded into its input indexing.
//   upsample3d: first time_conv, CausalConv3d(C, 2C, (3, 1, 1)), whose two C-channel halves become
//     two frames (conv3d's time shuffle, channel group j of frame t -> frame 2t + j, as the
//     source's reshape(b, 2, c, t, h, w) and stack on dim 3), then the upsample2d part. The clip's
//     first frame skips time_conv (the source marks the layer 'Rep' on the first chunk and runs
//     nothing), so it stays one frame. For the frames after it time_conv is an ordinary causal
//     conv over frames 1, 2, ... with zero history: the second frame sees two zero frames (the
//     'Rep' branch calls time_conv without a cache), the third sees [0, frame 1] (the cache the
//     'Rep' branch left is zeros then frame 1), and frame 0's features never enter it.
namespace Zoetrope.Engine.Decode;

/// <summary>Resample (upsample2d / upsample3d) on the device.</summary>
internal sealed class WanVaeResampleBlock : IWanVaeBlock
{
    private readonly WanVaeConv _spatial;
    private readonly WanVaeConv? _timeConv;
    private bool _seen;

    public WanVaeResampleBlock(Backend backend, DType dtype, WanVaeWeights w, WanVaeBlockSpec spec, int height, int width)
    {
        _spatial = new WanVaeConv(backend, dtype, w[$"{spec.Prefix}.resample.1.weight"], w[$"{spec.Prefix}.resample.1.bias"], height, width);
        if (spec.Kind == WanVaeBlockKind.Upsample3d)
        {
            _timeConv = new WanVaeConv(backend, dtype, w[$"{spec.Prefix}.time_conv.weight"], w[$"{spec.Prefix}.time_conv.bias"], height, width);
        }
    }

    public Tensor Forward(WanVaeScratch scratch, Tensor x, string outSlot)
    {
        int frames = (int)x.Shape[0];
        var spatialIn = x;
        if (_timeConv is not null && frames > 0)
        {
            int first = _seen ? 0 : 1, doubled = frames - first;
            spatialIn = scratch.Take("sp", new Shape(first + (2L * doubled), x.Shape[1], x.Shape[2], x.Shape[3]));
            if (doubled > 0)
            {
                var window = _timeConv.Window(scratch, doubled);
                _timeConv.Fresh(window).CopyFrom(x.Slice(0, first, doubled));
                _timeConv.Run(window, null, spatialIn.Slice(0, first, 2L * doubled), timeShuffle: 2);
            }
            if (first == 1)
            {
                spatialIn.Slice(0, 0, 1).CopyFrom(x.Slice(0, 0, 1));
            }
            _seen = true;
        }
        var y = scratch.Take(outSlot, new Shape(spatialIn.Shape[0], 2 * x.Shape[1], 2 * x.Shape[2], _spatial.Cout));
        _spatial.Run(spatialIn, null, y, upsample: 2);
        return y;
    }

    public void Reset()
    {
        _timeConv?.Reset();
        _seen = false;
    }

    public void Dispose()
    {
        _spatial.Dispose();
        _timeConv?.Dispose();
    }
}
