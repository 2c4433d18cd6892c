// ConvGeometry: conv3d's implicit-GEMM indexing as the ILGPU kernel uses it (the same rules as
// kernels/conv/conv3d.cu's Geom): which input element A[m][k] is, and where output (m, co) goes
// after the time shuffle. Plain ints, passed to the kernel by value.
namespace Zoetrope.Quant.Conv;

/// <summary>The implicit GEMM's view of a <see cref="Conv3d.Params"/>: A's gather and y's scatter.</summary>
internal readonly struct ConvGeometry
{
    private readonly int _t, _h, _w, _cin, _kh, _kw, _pad, _upShift, _shuffle, _cg, _ho, _wo;
    private readonly long _hw;

    /// <summary>The geometry of <paramref name="p"/>.</summary>
    public ConvGeometry(Conv3d.Params p)
    {
        _t = p.T;
        _h = p.H;
        _w = p.W;
        _cin = p.Cin;
        _kh = p.Kh;
        _kw = p.Kw;
        _pad = p.TimePad;
        _upShift = p.Upsample == 2 ? 1 : 0;
        _shuffle = p.TimeShuffle;
        _cg = p.OutChannels;
        _ho = p.Ho;
        _wo = p.Wo;
        _hw = (long)p.Ho * p.Wo;
        M = p.M;
        N = p.Cout;
        K = p.K;
    }

    /// <summary>Output pixels, To*Ho*Wo.</summary>
    public long M { get; }

    /// <summary>Output channels of the convolution, Cout.</summary>
    public int N { get; }

    /// <summary>The reduction length, Kt*Kh*Kw*Cin.</summary>
    public long K { get; }

    /// <summary>
    /// The offset in x of A[<paramref name="m"/>][<paramref name="k"/>], or -1 where it is padding (past
    /// the first frame, outside the frame) or outside A: x at (to + dt - pad, (oh + dh - Kh/2) / U,
    /// (ow + dw - Kw/2) / U, ci) with k = ((dt*Kh + dh)*Kw + dw)*Cin + ci.
    /// </summary>
    public long InputOffset(long m, long k)
    {
        // Branch-free (one select at the end): the staging loop around it stays warp-uniform, as
        // ILGPU's PTX (bra.uni on the loop's branch) requires.
        long to = m / _hw;
        int pix = (int)(m - (to * _hw));
        int oh = pix / _wo;
        int ow = pix - (oh * _wo);
        int tap = (int)(k / _cin);
        int ci = (int)(k - ((long)tap * _cin));
        int dw = tap % _kw;
        int rest = tap / _kw;
        int dh = rest % _kh;
        int dt = rest / _kh;
        int ti = (int)to + dt - _pad;
        int uh = oh + dh - (_kh / 2);
        int uw = ow + dw - (_kw / 2);
        bool inside = (m < M) & (k < K) & (ti >= 0) & (ti < _t) & (uh >= 0) & (uh < _ho) & (uw >= 0) & (uw < _wo);
        long offset = ((((long)ti * _h) + (uh >> _upShift)) * _w + (uw >> _upShift)) * _cin + ci;
        return inside ? offset : -1;
    }

    /// <summary>The index in y (and the residual) of output channel <paramref name="co"/> of pixel <paramref name="m"/>: frame to*S + co/cg, channel co % cg.</summary>
    public long OutIndex(long m, int co)
    {
        long to = m / _hw;
        long pix = m - (to * _hw);
        int j = co / _cg;
        return ((((to * _shuffle) + j) * _hw) + pix) * _cg + (co - (j * _cg));
    }
}
