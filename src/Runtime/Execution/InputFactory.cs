using Zoetrope.Runtime.Ops;

namespace Zoetrope.Runtime.Execution;

/// <summary>
/// Seeded random inputs for an op instance, drawn as its signature says (never zeros) and
/// rounded to each tensor's dtype, so the reference and every backend see the same values.
/// </summary>
public static class InputFactory
{
    /// <summary>Host tensors for every input and in-out of <paramref name="signature"/>.</summary>
    public static Dictionary<string, Tensor> HostInputs(OpSignature signature, int seed)
    {
        var rng = new Random(seed);
        var inputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var spec in signature.Reads)
        {
            var values = new double[spec.Shape.ElementCount];
            spec.Init.Fill(values, rng);
            inputs[spec.Name] = Tensor.FromDoubles(values, spec.DType, spec.Shape, spec.Name);
        }
        return inputs;
    }

    /// <summary>A stable 32-bit seed from text and numbers (FNV-1a; string.GetHashCode differs per process).</summary>
    public static int StableSeed(int baseSeed, string text, int index)
    {
        unchecked
        {
            uint h = 2166136261u ^ (uint)baseSeed;
            foreach (char c in text)
            {
                h = (h ^ c) * 16777619u;
            }
            h = (h ^ (uint)index) * 16777619u;
            return (int)(h & 0x7FFF_FFFF);
        }
    }
}
