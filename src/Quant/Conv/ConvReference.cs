// ConvReference: conv3d's definition in double, the oracle every backend is checked against
// (and itself checked against ONNX Runtime's Conv in the tests). Loop order: output pixel, then
// the kernel taps, then the input channels, so every tap reads one contiguous Cin run of x.
namespace Zoetrope.Quant.Conv;

/// <summary>The double-precision conv3d.</summary>
internal static class ConvReference
{
    /// <summary>y for <paramref name="p"/> (layouts as <see cref="Conv3d"/>'s header), in double; the activation included.</summary>
    public static double[] Compute(Conv3d.Params p, double[] x, double[] weight, double[]? bias, double[]? residual)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        int cg = p.OutChannels;
        var y = new double[(long)p.OutFrames * p.Ho * p.Wo * cg];
        var acc = new double[p.Cout];
        int ph = p.Kh / 2, pw = p.Kw / 2;
        long tapStride = p.Cin;
        for (int to = 0; to < p.To; to++)
        {
            for (int oh = 0; oh < p.Ho; oh++)
            {
                for (int ow = 0; ow < p.Wo; ow++)
                {
                    Array.Clear(acc);
                    for (int dt = 0; dt < p.Kt; dt++)
                    {
                        int ti = to + dt - p.TimePad;
                        if (ti < 0 || ti >= p.T)
                        {
                            continue;
                        }
                        for (int dh = 0; dh < p.Kh; dh++)
                        {
                            int uh = oh + dh - ph;
                            if (uh < 0 || uh >= p.Ho)
                            {
                                continue;
                            }
                            for (int dw = 0; dw < p.Kw; dw++)
                            {
                                int uw = ow + dw - pw;
                                if (uw < 0 || uw >= p.Wo)
                                {
                                    continue;
                                }
                                long xi = ((((long)ti * p.H) + (uh / p.Upsample)) * p.W + (uw / p.Upsample)) * p.Cin;
                                long tap = (((long)dt * p.Kh) + dh) * p.Kw + dw;
                                for (int co = 0; co < p.Cout; co++)
                                {
                                    long wi = ((co * p.K) + (tap * tapStride));
                                    double s = 0;
                                    for (int ci = 0; ci < p.Cin; ci++)
                                    {
                                        s += x[xi + ci] * weight[wi + ci];
                                    }
                                    acc[co] += s;
                                }
                            }
                        }
                    }
                    for (int co = 0; co < p.Cout; co++)
                    {
                        int j = co / cg;
                        long yi = (((((long)to * p.TimeShuffle) + j) * p.Ho + oh) * p.Wo + ow) * cg + (co % cg);
                        double v = acc[co] + (bias is null ? 0 : bias[co]) + (residual is null ? 0 : residual[yi]);
                        y[yi] = Activate(p.Act, v);
                    }
                }
            }
        }
        return y;
    }

    /// <summary>The activation in double.</summary>
    public static double Activate(ConvActivation act, double v) => act switch
    {
        ConvActivation.Relu => Math.Max(0, v),
        ConvActivation.Silu => v / (1 + Math.Exp(-v)),
        _ => v,
    };
}
