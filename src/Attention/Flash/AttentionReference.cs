// The attention oracle in double, shared by attention and sage_attention: each op supplies its
// logits (natural units, scale applied) and its V operand; masking, the max-subtracted softmax,
// P·V and the LSE are here once. A row that sees no key yields 0 and LSE -inf (as the kernels do).
// With a P operand (Sage's f16 or e4m3 rounding of the probabilities), the softmax runs the way
// the kernels run it, tile by tile of TileK keys against the running max, so the rounding is
// applied to the same values; the row sum stays unrounded, as in the kernels.
namespace Zoetrope.Attention.Flash;

/// <summary>Double-precision attention over op-supplied logits and values.</summary>
internal static class AttentionReference
{
    /// <summary>Logit of query <paramref name="qi"/> against key <paramref name="key"/> for (b, h, hkv), natural units.</summary>
    public delegate double Logit(int b, int h, int hkv, long qi, long key);

    /// <summary>V[b, hkv, key, ch] as the reference reads it.</summary>
    public delegate double Value(int b, int hkv, long key, int ch);

    /// <summary>The dot product of <paramref name="n"/> elements of <paramref name="a"/> from <paramref name="aAt"/> and <paramref name="b"/> from <paramref name="bAt"/>.</summary>
    public static double Dot(double[] a, long aAt, double[] b, long bAt, int n)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        double dot = 0;
        for (int c = 0; c < n; c++)
        {
            dot += a[aAt + c] * b[bAt + c];
        }
        return dot;
    }

    /// <summary>Whether query <paramref name="qi"/> of (b, h) attends to key <paramref name="key"/> besides the mask (block-sparse selection).</summary>
    public delegate bool KeyFilter(int b, int h, long qi, long key);

    /// <summary>
    /// Computes o (in q's layout) and the LSE [B, H, Nq]; <paramref name="lseShift"/> is added to
    /// finite LSEs; <paramref name="keep"/>, when given, removes keys as the mask does.
    /// </summary>
    public static (double[] O, double[] Lse) Run(AttentionGeometry g, Logit logit, Value value, Func<int, int, int, long, double>? lseShift = null,
        Func<double, double>? pOperand = null, KeyFilter? keep = null)
    {
        ArgumentNullException.ThrowIfNull(logit);
        ArgumentNullException.ThrowIfNull(value);
        var o = new double[g.Q.ElementCount];
        var lse = new double[g.Lse.ElementCount];
        var qs = g.QStrides;
        var p = new double[g.KvLen];
        var row = new double[g.HeadDim];
        for (int b = 0; b < g.Batch; b++)
        {
            for (int h = 0; h < g.Heads; h++)
            {
                int hkv = h / g.Group;
                for (long i = 0; i < g.QLen; i++)
                {
                    long pos = i + g.QOffset;
                    double m = double.NegativeInfinity;
                    for (long j = 0; j < g.KvLen; j++)
                    {
                        p[j] = g.Mask.Visible(pos, j) && (keep is null || keep(b, h, i, j)) ? logit(b, h, hkv, i, j) : double.NegativeInfinity;
                        m = Math.Max(m, p[j]);
                    }
                    double l = 0;
                    Array.Clear(row);
                    if (pOperand is not null)
                    {
                        l = OnlineTiles(g, p, value, pOperand, b, hkv, row);
                    }
                    else if (m > double.NegativeInfinity)
                    {
                        for (long j = 0; j < g.KvLen; j++)
                        {
                            double e = Math.Exp(p[j] - m);
                            if (e == 0)
                            {
                                continue;
                            }
                            l += e;
                            for (int c = 0; c < g.HeadDim; c++)
                            {
                                row[c] += e * value(b, hkv, j, c);
                            }
                        }
                    }
                    long at = qs.Of(b, h, i);
                    for (int c = 0; c < g.HeadDim; c++)
                    {
                        o[at + c] = l > 0 ? row[c] / l : 0;
                    }
                    lse[(((long)b * g.Heads) + h) * g.QLen + i] = l > 0 ? m + Math.Log(l) + (lseShift?.Invoke(b, h, hkv, i) ?? 0) : double.NegativeInfinity;
                }
            }
        }
        return (o, lse);
    }

    // The kernels' loop: per tile of keys, the new running max, the rescale of what came before,
    // probabilities against the running max, their rounded operands into the P·V sum.
    private static double OnlineTiles(AttentionGeometry g, double[] logits, Value value, Func<double, double> pOperand, int b, int hkv, double[] row)
    {
        double m = double.NegativeInfinity;
        double l = 0;
        for (long k0 = 0; k0 < g.KvLen; k0 += FlashEngine.TileK)
        {
            long k1 = Math.Min(g.KvLen, k0 + FlashEngine.TileK);
            double mNew = m;
            for (long j = k0; j < k1; j++)
            {
                mNew = Math.Max(mNew, logits[j]);
            }
            if (mNew == double.NegativeInfinity)
            {
                continue;
            }
            double corr = Math.Exp(m - mNew);
            l *= corr;
            for (int c = 0; c < g.HeadDim; c++)
            {
                row[c] *= corr;
            }
            for (long j = k0; j < k1; j++)
            {
                double e = Math.Exp(logits[j] - mNew);
                if (e == 0)
                {
                    continue;
                }
                l += e;
                double op = pOperand(e);
                for (int c = 0; c < g.HeadDim; c++)
                {
                    row[c] += op * value(b, hkv, j, c);
                }
            }
            m = mNew;
        }
        return l;
    }
}
