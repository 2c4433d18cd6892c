// The attention oracle in double, shared by attention and sage_attention: each op supplies its
// logits (natural units, scale applied) and its V operand; masking, the max-subtracted softmax,
// P·V and the LSE are here once. A row that sees no key yields 0 and LSE -inf (as the kernels do).
namespace Zoetrope.Attention.Flash;

/// <summary>Double-precision attention over op-supplied logits and values.</summary>
public static class AttentionReference
{
    /// <summary>Logit of query <paramref name="qi"/> against key <paramref name="key"/> for (b, h, hkv), natural units.</summary>
    public delegate double Logit(int b, int h, int hkv, long qi, long key);

    /// <summary>V[b, hkv, key, ch] as the reference reads it.</summary>
    public delegate double Value(int b, int hkv, long key, int ch);

    /// <summary>Computes o (in q's layout) and the LSE [B, H, Nq]; <paramref name="lseShift"/> is added to finite LSEs.</summary>
    public static (double[] O, double[] Lse) Run(AttentionGeometry g, Logit logit, Value value, Func<int, int, int, long, double>? lseShift = null)
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
                        p[j] = g.Mask.Visible(pos, j) ? logit(b, h, hkv, i, j) : double.NegativeInfinity;
                        m = Math.Max(m, p[j]);
                    }
                    double l = 0;
                    Array.Clear(row);
                    if (m > double.NegativeInfinity)
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
}
