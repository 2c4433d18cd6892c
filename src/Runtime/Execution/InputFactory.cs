using Zoetrope.Runtime.Ops;

namespace Zoetrope.Runtime.Execution;

/// <summary>
/// Seeded random inputs for an op instance, drawn as its signature says (never zeros) and
/// rounded to each tensor's dtype, so the reference and every backend see the same values.
/// </summary>
internal static class InputFactory
{
    /// <summary>
    /// Host tensors for every input and in-out of <paramref name="signature"/>. With
    /// <paramref name="masked"/> (a <see cref="CaseUse.Masked"/> case), the inputs whose contract
    /// allows -inf (<see cref="InitSpec.Masking"/>) get it at their pattern's positions; the finite
    /// values are the same draws either way.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="masked"/>, but no input of the signature may hold -inf.</exception>
    public static Dictionary<string, Tensor> HostInputs(OpSignature signature, int seed, bool masked = false)
    {
        ArgumentNullException.ThrowIfNull(signature);
        if (masked && !signature.Reads.Any(s => s.Init.Masking is not null))
        {
            throw new ArgumentException(
                $"a masked case, but no input ({string.Join(", ", signature.Reads.Select(s => s.Name))}) may hold -inf under the op's contract", nameof(masked));
        }
        var rng = new Random(seed);
        var inputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var spec in signature.Reads)
        {
            var values = new double[spec.Shape.ElementCount];
            spec.Init.Fill(values, rng);
            if (masked && spec.Init.Masking is { } pattern)
            {
                pattern.Apply(values);
            }
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
