// LoRA merged into the base weights at load: W' = W + (alpha / rank) * B @ A, computed in f32 and
// cast once to W's dtype. LongLive ships its generator LoRA (rank 256, alpha 256, on every Linear
// of every block: self_attn/cross_attn q, k, v, o and ffn.0, ffn.2) as PEFT's state dict, either
// bare or under "generator_lora"; a file is checked whole, every missing, unexpected and
// mis-shaped key named at once, before any weight is changed.
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using System.Text.RegularExpressions;
using Zoetrope.Runtime.IO;

namespace Zoetrope.Engine;

/// <summary>What a LoRA merge did.</summary>
/// <param name="File">The LoRA file.</param>
/// <param name="Modules">Linear weights merged.</param>
/// <param name="Rank">The rank (rows of every A).</param>
/// <param name="Alpha">The alpha used (the rank when none was given).</param>
public sealed record LoraSummary(string File, int Modules, int Rank, double Alpha)
{
    /// <summary>The factor on B @ A: alpha / rank.</summary>
    public double Scale => Alpha / Rank;

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"LoRA {Path.GetFileName(File)} merged into {Modules} linear weights: rank {Rank}, alpha {Alpha:0.###}, scale {Scale:0.######}");
}

/// <summary>
/// A LoRA file checked against the weights it will change: <see cref="Open"/> names every problem
/// at once; <see cref="Apply"/> merges. Holds the file open until disposed.
/// </summary>
internal sealed partial class LoraMerge : IDisposable
{
    /// <summary>The key LongLive's training checkpoint keeps the generator's LoRA under.</summary>
    public const string GeneratorLoraKey = "generator_lora";

    /// <summary>PEFT's prefix in front of the wrapped model's module names.</summary>
    public const string PeftPrefix = "base_model.model.";

    private readonly ITensorFile _file;
    private readonly List<Pair> _pairs;

    private LoraMerge(ITensorFile file, List<Pair> pairs, LoraSummary summary)
    {
        _file = file;
        _pairs = pairs;
        Summary = summary;
    }

    /// <summary>What <see cref="Apply"/> merges.</summary>
    public LoraSummary Summary { get; }

    /// <summary>The base weights <see cref="Apply"/> changes, in merge order.</summary>
    public IEnumerable<string> Targets => _pairs.Select(p => p.Target);

    /// <summary>
    /// True for the weights a LoRA may target: a 2-D <c>.weight</c> inside a block
    /// (<c>blocks.{i}.</c>), i.e. the blocks' Linear layers (LongLive targets every one).
    /// </summary>
    public static bool IsTarget(string name, Shape shape) => shape.Rank == 2 && BlockLinear().IsMatch(name);

    /// <summary>
    /// Opens the LoRA <paramref name="path"/> (.pt or safetensors) and checks it against the base
    /// weights' names and shapes <paramref name="weights"/>: every A has its B, every target is a
    /// block's Linear weight, the shapes fit (A [r, in], B [out, r], one r throughout), and a kind
    /// of module (e.g. <c>self_attn.q</c>) covered in some blocks is covered in all of them.
    /// </summary>
    /// <param name="path">The LoRA file.</param>
    /// <param name="weights">The base weights' names (the model's own, e.g. <c>blocks.0.ffn.0.weight</c>) and shapes.</param>
    /// <param name="alpha">The LoRA's alpha; null: the rank (scale 1).</param>
    /// <param name="model">The model's name, for the error.</param>
    /// <exception cref="ZoetropeWeightsException">Missing, unexpected and mis-shaped LoRA keys, all named.</exception>
    public static LoraMerge Open(string path, IReadOnlyDictionary<string, Shape> weights, double? alpha = null, string model = "the base weights")
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(weights);
        if (alpha is double a && (!(a > 0) || double.IsInfinity(a)))
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, $"LoRA {path}: alpha must be a positive number");
        }
        var file = TensorFiles.Open(path);
        try
        {
            var (pairs, rank) = Check(file, weights, model);
            var order = weights.Keys.Select((k, i) => (k, i)).ToDictionary(p => p.k, p => p.i, StringComparer.Ordinal);
            pairs.Sort((x, y) => order[x.Target].CompareTo(order[y.Target]));
            return new LoraMerge(file, pairs, new LoraSummary(path, pairs.Count, rank, alpha ?? rank));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Merges into <paramref name="weights"/> (the tensors <see cref="Open"/> was checked
    /// against): each target is replaced by a new tensor of its dtype, the old one disposed.
    /// </summary>
    public LoraSummary Apply(IDictionary<string, Tensor> weights, IProgress<double>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        double scale = Summary.Scale;
        for (int i = 0; i < _pairs.Count; i++)
        {
            var p = _pairs[i];
            using var a = _file.Load(p.A);
            using var b = _file.Load(p.B);
            var old = weights[p.Target];
            weights[p.Target] = Merge(old, a, b, scale, old.Name);
            old.Dispose();
            progress?.Report((i + 1) / (double)_pairs.Count);
        }
        return Summary;
    }

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();

    /// <summary>
    /// <paramref name="weight"/> + <paramref name="scale"/> * <paramref name="b"/> @ <paramref name="a"/>
    /// as a new host tensor of <paramref name="weight"/>'s dtype: A [r, in] and B [out, r] are
    /// read as f32, each element's sum over r runs in f32 (in order, one thread per row, so the
    /// result does not depend on the thread count), the scaled sum is added to W in f32 and
    /// rounded once (to nearest even) to W's dtype.
    /// </summary>
    /// <exception cref="ArgumentException">The shapes do not fit, or a dtype is not f32/f16/bf16.</exception>
    public static Tensor Merge(Tensor weight, Tensor a, Tensor b, double scale, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (weight.Rank != 2 || a.Rank != 2 || b.Rank != 2 || a.Shape[1] != weight.Shape[1] || b.Shape[0] != weight.Shape[0] || b.Shape[1] != a.Shape[0])
        {
            throw new ArgumentException($"LoRA merge of '{weight.Name}': W {weight.Shape}, A {a.Shape}, B {b.Shape} do not fit (W [out, in], A [r, in], B [out, r])");
        }
        foreach (var t in new[] { weight, a, b })
        {
            if (t.DType is not (DType.F32 or DType.F16 or DType.BF16))
            {
                throw new ArgumentException($"LoRA merge of '{weight.Name}': '{t.Name}' is {t.DType.Name()}; expected f32, f16 or bf16");
            }
        }
        int rows = checked((int)weight.Shape[0]);
        int cols = checked((int)weight.Shape[1]);
        int rank = checked((int)a.Shape[0]);
        float[] bf = Singles(b);
        float[] packed = PackPanels(Singles(a), rank, cols);
        byte[] w = weight.ToBytes();
        byte[] merged = new byte[w.Length];
        var dtype = weight.DType;
        float s = (float)scale;
        int chunks = (rows + ChunkRows - 1) / ChunkRows;
        Parallel.For(0, chunks, chunk =>
        {
            int r0 = chunk * ChunkRows;
            int r1 = Math.Min(rows, r0 + ChunkRows);
            Span<float> tile = stackalloc float[GroupRows * Panel];
            // Panel-major: one A panel (rank x 16 floats, 16 KiB at rank 256) stays in L1 while
            // every row group of the chunk passes over it.
            for (int p = 0; p * Panel < cols; p++)
            {
                int c0 = p * Panel;
                int width = Math.Min(Panel, cols - c0);
                var panel = packed.AsSpan(p * rank * Panel, rank * Panel);
                for (int g = r0; g < r1; g += GroupRows)
                {
                    int height = Math.Min(GroupRows, r1 - g);
                    Tile(bf, g, height, rank, panel, tile);
                    for (int i = 0; i < height; i++)
                    {
                        long at = ((long)(g + i) * cols) + c0;
                        for (int j = 0; j < width; j++)
                        {
                            float value = Read(dtype, w, at + j) + (s * tile[(i * Panel) + j]);
                            Write(dtype, merged, at + j, value);
                        }
                    }
                }
            }
        });
        var result = Backends.Host.Allocate(dtype, weight.Shape, name ?? weight.Name);
        result.CopyFrom(merged);
        return result;
    }

    // Rows of W per parallel task, rows per register tile, columns per A panel (two 8-float vectors).
    private const int ChunkRows = 64;
    private const int GroupRows = 4;
    private const int Panel = 16;

    /// <summary>B rows [g, g+height) @ the A panel into <paramref name="tile"/> [4, 16]: eight vector accumulators, the sum over k in order.</summary>
    private static void Tile(float[] b, int g, int height, int rank, ReadOnlySpan<float> panel, Span<float> tile)
    {
        // Missing rows of a short last group repeat the last row; their sums are never written.
        int b0 = g * rank;
        int b1 = (g + Math.Min(1, height - 1)) * rank;
        int b2 = (g + Math.Min(2, height - 1)) * rank;
        int b3 = (g + Math.Min(3, height - 1)) * rank;
        var z = Vector256<float>.Zero;
        Vector256<float> a0 = z, a1 = z, c0 = z, c1 = z, d0 = z, d1 = z, e0 = z, e1 = z;
        ref float pa = ref MemoryMarshal.GetReference(panel);
        ref float pb = ref MemoryMarshal.GetArrayDataReference(b);
        for (int k = 0; k < rank; k++)
        {
            var lo = Vector256.LoadUnsafe(ref pa, (nuint)(k * Panel));
            var hi = Vector256.LoadUnsafe(ref pa, (nuint)((k * Panel) + 8));
            var x = Vector256.Create(Unsafe.Add(ref pb, b0 + k));
            a0 = Fma(x, lo, a0);
            a1 = Fma(x, hi, a1);
            x = Vector256.Create(Unsafe.Add(ref pb, b1 + k));
            c0 = Fma(x, lo, c0);
            c1 = Fma(x, hi, c1);
            x = Vector256.Create(Unsafe.Add(ref pb, b2 + k));
            d0 = Fma(x, lo, d0);
            d1 = Fma(x, hi, d1);
            x = Vector256.Create(Unsafe.Add(ref pb, b3 + k));
            e0 = Fma(x, lo, e0);
            e1 = Fma(x, hi, e1);
        }
        a0.CopyTo(tile);
        a1.CopyTo(tile[8..]);
        c0.CopyTo(tile[16..]);
        c1.CopyTo(tile[24..]);
        d0.CopyTo(tile[32..]);
        d1.CopyTo(tile[40..]);
        e0.CopyTo(tile[48..]);
        e1.CopyTo(tile[56..]);
    }

    private static readonly bool HardwareFma = System.Runtime.Intrinsics.X86.Fma.IsSupported || AdvSimd.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fma(Vector256<float> x, Vector256<float> y, Vector256<float> acc) =>
        HardwareFma ? Vector256.FusedMultiplyAdd(x, y, acc) : (x * y) + acc;

    /// <summary>A [r, cols] as panels of 16 columns, each [r, 16] contiguous; the last panel zero-padded.</summary>
    private static float[] PackPanels(float[] a, int rank, int cols)
    {
        int panels = (cols + Panel - 1) / Panel;
        var packed = new float[(long)panels * rank * Panel];
        Parallel.For(0, panels, p =>
        {
            int c0 = p * Panel;
            int width = Math.Min(Panel, cols - c0);
            for (int k = 0; k < rank; k++)
            {
                a.AsSpan((k * cols) + c0, width).CopyTo(packed.AsSpan(((p * rank) + k) * Panel, width));
            }
        });
        return packed;
    }

    private static float[] Singles(Tensor t)
    {
        byte[] bytes = t.ToBytes();
        var result = new float[t.ElementCount];
        for (long i = 0; i < result.Length; i++)
        {
            result[i] = Read(t.DType, bytes, i);
        }
        return result;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Read(DType dtype, byte[] bytes, long i) => dtype switch
    {
        DType.BF16 => BitConverter.UInt32BitsToSingle((uint)Unsafe.ReadUnaligned<ushort>(ref bytes[i * 2]) << 16),
        DType.F16 => (float)Unsafe.ReadUnaligned<Half>(ref bytes[i * 2]),
        _ => Unsafe.ReadUnaligned<float>(ref bytes[i * 4]),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Write(DType dtype, byte[] bytes, long i, float value)
    {
        switch (dtype)
        {
            case DType.BF16:
                Unsafe.WriteUnaligned(ref bytes[i * 2], BFloat16.FromSingle(value).Bits);
                break;
            case DType.F16:
                Unsafe.WriteUnaligned(ref bytes[i * 2], (Half)value);
                break;
            default:
                Unsafe.WriteUnaligned(ref bytes[i * 4], value);
                break;
        }
    }

    /// <summary>One target's two LoRA tensors (raw keys in the file).</summary>
    private sealed record Pair(string Target, string A, string B);

    private static (List<Pair> Pairs, int Rank) Check(ITensorFile file, IReadOnlyDictionary<string, Shape> weights, string model)
    {
        // LongLive's training checkpoint: {generator_lora, critic_lora, step}; its inference file may be the bare dict.
        string outer = file.Names.Any(n => n.StartsWith(GeneratorLoraKey + ".", StringComparison.Ordinal)) ? GeneratorLoraKey + "." : string.Empty;
        var missing = new List<string>();
        var unexpected = new List<string>();
        var misshaped = new List<string>();
        // module -> (A key, B key)
        var found = new Dictionary<string, (string? A, string? B)>(StringComparer.Ordinal);
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        string peft = string.Empty;
        foreach (var key in file.Names.Where(n => n.StartsWith(outer, StringComparison.Ordinal)))
        {
            var m = LoraKey().Match(CheckpointSelection.Clean(key[outer.Length..]));
            string module = m.Groups["module"].Value;
            if (!m.Success || !weights.TryGetValue(module + ".weight", out var shape) || !IsTarget(module + ".weight", shape))
            {
                unexpected.Add(m.Success ? $"{key} (no Linear weight '{module}.weight' in a block of the model)" : key);
                continue;
            }
            peft = m.Groups["peft"].Value;
            bool isA = m.Groups["ab"].Value == "A";
            string id = module + (isA ? ".lora_A" : ".lora_B");
            if (seen.TryGetValue(id, out var first))
            {
                unexpected.Add($"{key} (the same tensor as '{first}' once the adapter name and wrapper tokens are removed)");
                continue;
            }
            seen[id] = key;
            found.TryGetValue(module, out var ab);
            found[module] = isA ? (key, ab.B) : (ab.A, key);
        }
        string Expected(string module, char ab) => $"{outer}{peft}{module}.lora_{ab}.weight";

        // A kind of module (self_attn.q, ffn.0, ...) covered in one block is expected in every block that has it.
        var kinds = found.Keys.Select(m => Kind(m).Kind).ToHashSet(StringComparer.Ordinal);
        foreach (var target in weights.Where(w => IsTarget(w.Key, w.Value)).Select(w => w.Key[..^".weight".Length]))
        {
            if (kinds.Contains(Kind(target).Kind) && !found.ContainsKey(target))
            {
                missing.Add(Expected(target, 'A'));
                missing.Add(Expected(target, 'B'));
            }
        }

        var pairs = new List<Pair>();
        int? rank = null;
        foreach (var (module, (aKey, bKey)) in found)
        {
            if (aKey is null || bKey is null)
            {
                missing.Add(Expected(module, aKey is null ? 'A' : 'B'));
                continue;
            }
            var w = weights[module + ".weight"];
            var a = file.Entry(aKey);
            var b = file.Entry(bKey);
            int before = misshaped.Count;
            foreach (var e in new[] { a, b })
            {
                if (e.DType is not (DType.F32 or DType.F16 or DType.BF16))
                {
                    misshaped.Add($"{e.Name} (expected dtype f32, f16 or bf16, got {e.DTypeName})");
                }
            }
            if (a.Shape.Rank != 2 || a.Shape[1] != w[1] || a.Shape[0] < 1)
            {
                misshaped.Add($"{aKey} (expected [rank, {w[1]}] for {module}.weight {w}, got {a.Shape})");
            }
            else if (b.Shape.Rank != 2 || b.Shape[0] != w[0] || b.Shape[1] != a.Shape[0])
            {
                misshaped.Add($"{bKey} (expected [{w[0]}, {a.Shape[0]}] for {module}.weight {w} and its A {a.Shape}, got {b.Shape})");
            }
            else if (rank is int r && a.Shape[0] != r)
            {
                misshaped.Add($"{aKey} (rank {a.Shape[0]}, the others have rank {r}: one alpha cannot scale mixed ranks)");
            }
            else
            {
                rank ??= checked((int)a.Shape[0]);
            }
            if (misshaped.Count == before)
            {
                pairs.Add(new Pair(module + ".weight", aKey, bKey));
            }
        }
        if (missing.Count + unexpected.Count + misshaped.Count > 0)
        {
            throw new ZoetropeWeightsException($"LoRA {file.Path}", model, missing, unexpected, misshaped);
        }
        if (pairs.Count == 0)
        {
            throw new ZoetropeWeightsException($"LoRA {file.Path}", model, ["lora_A/lora_B pairs (the file holds no LoRA tensors" + (outer.Length > 0 ? $" under '{GeneratorLoraKey}'" : string.Empty) + ")"], [], []);
        }
        return (pairs, rank!.Value);
    }

    /// <summary><c>blocks.{i}.{kind}</c> split into the block index and the kind (e.g. <c>self_attn.q</c>).</summary>
    private static (int Block, string Kind) Kind(string module)
    {
        var m = BlockLinear().Match(module + ".weight");
        return (int.Parse(m.Groups["block"].Value, CultureInfo.InvariantCulture), m.Groups["kind"].Value);
    }

    [GeneratedRegex(@"^blocks\.(?<block>\d+)\.(?<kind>.+)\.weight$")]
    private static partial Regex BlockLinear();

    // PEFT's names: [base_model.model.]<module>.lora_A[.<adapter>].weight (the adapter name, e.g.
    // "default", is in a live model's state dict and absent from get_peft_model_state_dict's).
    [GeneratedRegex(@"^(?<peft>(?:base_model\.model\.)?)(?<module>.+?)\.lora_(?<ab>[AB])(?:\.(?<adapter>[^.]+))?\.weight$")]
    private static partial Regex LoraKey();
}
