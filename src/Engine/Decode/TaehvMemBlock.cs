// TaehvMemBlock: TAEHV's MemBlock, out = ReLU(conv(ReLU(conv(ReLU(conv(cat[x, past]))))) + x),
// over a run of frames at once. Its input buffer has one frame more than the run, in front: the
// previous frame (this block's last input of the previous call; zeros at a clip's start, as
// upstream's empty memory), so the first conv is conv3d with Kt = 2 and no time padding, and
// the frames can be fed in any split. The identity skip and the ReLU fuse into the last conv.
using Zoetrope.Quant.Conv;

namespace Zoetrope.Engine.Decode;

/// <summary>One MemBlock's convolutions and its one-frame memory.</summary>
internal sealed class TaehvMemBlock : IDisposable
{
    private readonly TaehvConv _mix;
    private readonly TaehvConv _mid;
    private readonly TaehvConv _out;

    private TaehvMemBlock(TaehvConv mix, TaehvConv mid, TaehvConv out_, Tensor past)
    {
        _mix = mix;
        _mid = mid;
        _out = out_;
        Past = past;
    }

    /// <summary>The previous input frame [1, H, W, C] (zeros at a clip's start).</summary>
    public Tensor Past { get; }

    /// <summary>The MemBlock at decoder index <paramref name="index"/>, working on <paramref name="height"/> x <paramref name="width"/> frames.</summary>
    public static TaehvMemBlock Of(Backend backend, DType dtype, TaehvWeights weights, int index, int channels, int height, int width)
    {
        var made = new List<IDisposable>();
        try
        {
            string name = FormattableString.Invariant($"taehv.{index}");
            var mix = Made(made, TaehvConv.MemoryConv(backend, dtype, weights[TaehvWeights.MemBlockKey(index, 0, "weight")], weights[TaehvWeights.MemBlockKey(index, 0, "bias")], name + ".conv.0"));
            var mid = Made(made, TaehvConv.Plain(backend, dtype, weights[TaehvWeights.MemBlockKey(index, 2, "weight")], weights[TaehvWeights.MemBlockKey(index, 2, "bias")], name + ".conv.2"));
            var last = Made(made, TaehvConv.Plain(backend, dtype, weights[TaehvWeights.MemBlockKey(index, 4, "weight")], weights[TaehvWeights.MemBlockKey(index, 4, "bias")], name + ".conv.4"));
            var past = Made(made, backend.Allocate(dtype, new Shape(1, height, width, channels), name + ".past"));
            past.FillBytes(0);
            return new TaehvMemBlock(mix, mid, last, past);
        }
        catch
        {
            foreach (var d in made)
            {
                d.Dispose();
            }
            throw;
        }
    }

    /// <summary>
    /// Runs the block over <paramref name="input"/> [T + 1, H, W, C], whose frames 1..T the caller
    /// filled (frame 0 is set here from the memory), into <paramref name="output"/> [T, H, W, C];
    /// <paramref name="hidden1"/> and <paramref name="hidden2"/> [T, H, W, C] are scratch. The
    /// memory becomes frame T.
    /// </summary>
    public void Run(Tensor input, Tensor hidden1, Tensor hidden2, Tensor output)
    {
        long frames = input.Shape[0] - 1;
        input.Slice(0, 0, 1).CopyFrom(Past);
        Conv3d.Run(input, _mix.Weight, _mix.Bias, null, hidden1, timePad: 0, act: ConvActivation.Relu);
        Conv3d.Run(hidden1, _mid.Weight, _mid.Bias, null, hidden2, act: ConvActivation.Relu);
        Conv3d.Run(hidden2, _out.Weight, _out.Bias, input.Slice(0, 1, frames), output, act: ConvActivation.Relu);
        Past.CopyFrom(input.Slice(0, frames, 1));
    }

    public void Dispose()
    {
        _mix.Dispose();
        _mid.Dispose();
        _out.Dispose();
        Past.Dispose();
    }

    private static T Made<T>(List<IDisposable> made, T item)
        where T : IDisposable
    {
        made.Add(item);
        return item;
    }
}
