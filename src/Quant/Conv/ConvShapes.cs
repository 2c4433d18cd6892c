// ConvShapes: conv3d's shape rules, attributes and checks, shared by its Run, Bind and the
// decoders that call it (one place that says what a valid convolution is).
using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Quant.Conv;

/// <summary>Shape checks, attributes and activation names of <see cref="Conv3d"/>.</summary>
internal static class ConvShapes
{
    /// <summary>time_pad: zero frames before the first input frame; -1 (the default) is causal, Kt - 1.</summary>
    public static OpAttr<int> TimePadAttr { get; } = OpAttr.Int("time_pad", -1, "zero frames before the first input frame (-1: Kt-1, causal)", min: -1);

    /// <summary>upsample: 1, or 2 for nearest x2 in H and W before the convolution.</summary>
    public static OpAttr<int> UpsampleAttr { get; } = OpAttr.Int("upsample", 1, "nearest spatial upsampling of x folded into the conv (1 or 2)", min: 1, max: 2);

    /// <summary>time_shuffle: S output frames per convolution frame, from S channel groups.</summary>
    public static OpAttr<int> TimeShuffleAttr { get; } = OpAttr.Int("time_shuffle", 1, "output channel group j of frame t becomes frame t*S+j", min: 1);

    /// <summary>act: none, relu or silu, after bias and residual.</summary>
    public static OpAttr<string> ActAttr { get; } = OpAttr.Choice("act", "none", "activation after bias and residual", "none", "relu", "silu");

    /// <summary>The attribute spelling of <paramref name="act"/>.</summary>
    public static string ActName(ConvActivation act) => act switch
    {
        ConvActivation.Relu => "relu",
        ConvActivation.Silu => "silu",
        _ => "none",
    };

    /// <summary>The activation spelled <paramref name="name"/>.</summary>
    public static ConvActivation ParseAct(string name) => name switch
    {
        "none" => ConvActivation.None,
        "relu" => ConvActivation.Relu,
        "silu" => ConvActivation.Silu,
        _ => throw new ArgumentException($"conv3d: act '{name}' is not none|relu|silu", nameof(name)),
    };

    /// <summary>y's (and the residual's) shape: [To*S, H*U, W*U, Cout/S].</summary>
    public static Shape OutShape(Conv3d.Params p) => new(p.OutFrames, p.Ho, p.Wo, p.OutChannels);

    /// <summary>
    /// The parameters of a convolution of <paramref name="x"/> [T, H, W, Cin] by <paramref name="weight"/>
    /// [Cout, Kt, Kh, Kw, Cin]; <paramref name="timePad"/> &lt; 0 is causal (Kt - 1).
    /// </summary>
    /// <exception cref="ArgumentException">A rank, extent, dtype or attribute disagrees; the message names the tensors and shapes.</exception>
    public static Conv3d.Params Of(Tensor x, Tensor weight, bool hasBias, bool hasResidual, int timePad, int upsample, int timeShuffle, ConvActivation act)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        if (x.Rank != 4 || weight.Rank != 5 || x.Shape[3] != weight.Shape[4])
        {
            throw new ArgumentException($"conv3d: x '{x.Name}' {x.Shape} must be [T, H, W, Cin] and weight '{weight.Name}' {weight.Shape} [Cout, Kt, Kh, Kw, Cin] with the same Cin", weight.Name);
        }
        if (weight.DType != x.DType || x.DType is not (DType.F32 or DType.F16 or DType.BF16))
        {
            throw new ArgumentException($"conv3d: x '{x.Name}' is {x.DType.Name()} and weight '{weight.Name}' {weight.DType.Name()}; both must be one of f32, f16, bf16", weight.Name);
        }
        int kt = checked((int)weight.Shape[1]), kh = checked((int)weight.Shape[2]), kw = checked((int)weight.Shape[3]);
        if (kh % 2 == 0 || kw % 2 == 0)
        {
            throw new ArgumentException($"conv3d: weight '{weight.Name}' {weight.Shape}: Kh and Kw must be odd (same padding)", weight.Name);
        }
        int pad = timePad < 0 ? kt - 1 : timePad;
        if (upsample is not (1 or 2))
        {
            throw new ArgumentException($"conv3d: upsample {upsample} is not 1 or 2", nameof(upsample));
        }
        int cout = checked((int)weight.Shape[0]);
        if (timeShuffle < 1 || cout % timeShuffle != 0)
        {
            throw new ArgumentException($"conv3d: time_shuffle {timeShuffle} must be >= 1 and divide Cout {cout} (weight '{weight.Name}' {weight.Shape})", nameof(timeShuffle));
        }
        var p = new Conv3d.Params(x.DType, checked((int)x.Shape[0]), checked((int)x.Shape[1]), checked((int)x.Shape[2]), checked((int)x.Shape[3]), cout, kt, kh, kw,
            pad, upsample, timeShuffle, hasBias, hasResidual, act);
        if (p.To < 1)
        {
            throw new ArgumentException($"conv3d: x '{x.Name}' {x.Shape} has {p.T} frames and {pad} padding frames, fewer than the kernel's {kt}", x.Name);
        }
        return p;
    }

    /// <summary>Throws unless <paramref name="t"/> has <paramref name="dtype"/> and <paramref name="shape"/>.</summary>
    /// <exception cref="ArgumentException">It does not; the message names the tensor, both shapes and dtypes.</exception>
    public static void Expect(string role, Tensor t, DType dtype, Shape shape)
    {
        ArgumentNullException.ThrowIfNull(t);
        if (t.DType != dtype || !t.Shape.Equals(shape))
        {
            throw new ArgumentException($"conv3d: {role} '{t.Name}' is {t.DType.Name()} {t.Shape}; expected {dtype.Name()} {shape}", role);
        }
    }
}
