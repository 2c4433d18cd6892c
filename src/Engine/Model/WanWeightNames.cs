// The parameter table of a Wan DiT: every key a Wan / Self-Forcing checkpoint holds, with the
// shape the config implies (../shared/REFERENCE.md, weight key names). The loader, the random
// initialiser and the model all read this one list.
namespace Zoetrope.Engine;

/// <summary>The names and shapes of a Wan DiT's parameters.</summary>
internal static class WanWeightNames
{
    /// <summary>Every parameter of <paramref name="c"/>, in checkpoint order.</summary>
    public static IReadOnlyList<(string Name, Shape Shape)> Expected(DiTConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        long d = c.Dim;
        var list = new List<(string, Shape)>
        {
            ("patch_embedding.weight", new Shape(d, c.LatentChannels, 1, DiTConfig.Patch, DiTConfig.Patch)),
            ("patch_embedding.bias", new Shape(d)),
        };
        Linear(list, "text_embedding.0", d, c.TextDim);
        Linear(list, "text_embedding.2", d, d);
        Linear(list, "time_embedding.0", d, c.FreqDim);
        Linear(list, "time_embedding.2", d, d);
        Linear(list, "time_projection.1", 6 * d, d);
        for (int i = 0; i < c.Layers; i++)
        {
            foreach (var attn in new[] { "self_attn", "cross_attn" })
            {
                foreach (var p in new[] { "q", "k", "v", "o" })
                {
                    Linear(list, $"{Block(i)}.{attn}.{p}", d, d);
                }
                list.Add(($"{Block(i)}.{attn}.norm_q.weight", new Shape(d)));
                list.Add(($"{Block(i)}.{attn}.norm_k.weight", new Shape(d)));
            }
            list.Add(($"{Block(i)}.norm3.weight", new Shape(d)));
            list.Add(($"{Block(i)}.norm3.bias", new Shape(d)));
            Linear(list, $"{Block(i)}.ffn.0", c.FfnDim, d);
            Linear(list, $"{Block(i)}.ffn.2", d, c.FfnDim);
            list.Add(($"{Block(i)}.modulation", new Shape(1, 6, d)));
        }
        Linear(list, "head.head", c.PatchFeatures, d);
        list.Add(("head.modulation", new Shape(1, 2, d)));
        return list;
    }

    /// <summary>
    /// Parameters a checkpoint may hold and the model uses when present: SLA's trained linear-branch
    /// projection per block (TurboDiffusion replaces each self-attention's kernel by SLA/SageSLA
    /// as <c>self_attn.local_attn</c>, whose <c>proj_l</c> is a D x D linear). Without them SLA's
    /// linear branch is zero, as the SLA paper initialises it.
    /// </summary>
    public static IReadOnlyList<(string Name, Shape Shape)> Optional(DiTConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        var list = new List<(string, Shape)>();
        for (int i = 0; i < c.Layers; i++)
        {
            list.Add((ProjL(i), new Shape(c.HeadDim, c.HeadDim)));
            list.Add((ProjLBias(i), new Shape(c.HeadDim)));
        }
        return list;
    }

    /// <summary>SLA's proj_l weight of block <paramref name="i"/>.</summary>
    public static string ProjL(int i) => $"{Block(i)}.self_attn.local_attn.proj_l.weight";

    /// <summary>SLA's proj_l bias of block <paramref name="i"/>.</summary>
    public static string ProjLBias(int i) => $"{Block(i)}.self_attn.local_attn.proj_l.bias";

    /// <summary>The key prefix of block <paramref name="i"/>.</summary>
    public static string Block(int i) => FormattableString.Invariant($"blocks.{i}");

    /// <summary>The key every checkpoint has, used to find a nesting prefix such as <c>model.</c>.</summary>
    public const string Anchor = "patch_embedding.weight";

    private static void Linear(List<(string, Shape)> list, string name, long outFeatures, long inFeatures)
    {
        list.Add(($"{name}.weight", new Shape(outFeatures, inFeatures)));
        list.Add(($"{name}.bias", new Shape(outFeatures)));
    }
}
