// wgmma.mma_async.sync.aligned.m64nNkK: Hopper's warpgroup matrix multiply-accumulate.
// ISA sections: "Asynchronous Warpgroup Level Matrix Multiply-Accumulate Instructions" (wgmma.mma_async,
// its operands: d, a (registers or a descriptor), b-desc, scale-d, imm-scale-a, imm-scale-b,
// imm-trans-a, imm-trans-b), "Register Fragments" (A in registers and D: warp w of the warpgroup
// holds rows 16w..16w+15, and inside its 16 rows a warp's fragments are those of mma.m16n8k16 /
// mma.m16n8k32: A exactly the m16n8kK A fragment, D the m16n8 accumulator repeated along N, N/8 times),
// "Shared Memory Matrix Layout" and "Matrix Descriptor Format".
//
// Descriptor (64 bits): start address bits 0-13 (address >> 4), leading dimension byte offset (LBO)
// 16-29 (>> 4), stride dimension byte offset (SBO) 32-45 (>> 4), matrix base offset 49-51, swizzle
// mode 62-63 (0 none, 1 128B, 2 64B, 3 32B).
//
// Canonical layouts, in elements, T = 16 bytes / element size, W = 1, 2, 4, 8 for none, 32B, 64B,
// 128B (the same forms CUTLASS's make_gmma_desc documents):
//   K-major  none:      ((8,m),(T,2)) : ((1T,SBO),(1,LBO))   8x16-byte core matrices; LBO steps K, SBO steps MN
//   K-major  swizzled:  ((8,m),(T,2)) : ((WT,SBO),(1,T))     rows of 16W bytes; LBO unused
//   MN-major none:      ((T,1,m),(8,k)) : ((1,T,SBO),(1T,LBO))  SBO steps MN by T, LBO steps K by 8
//   MN-major swizzled:  ((T,W,m),(8,k)) : ((1,T,LBO),(WT,SBO))  LBO steps MN by WT, SBO steps K by 8
// then the swizzle XORs address bits: 128B bits 4-6 ^= bits 7-9, 64B bits 4-5 ^= bits 7-8, 32B bit
// 4 ^= bit 7 (CUTLASS Swizzle<3,4,3>, <2,4,3>, <1,4,3> on byte addresses): the 16-byte chunk of a
// row moves by the row's index within the repeating 1024/512/256-byte pattern. The XOR is on the
// absolute shared address, so a pattern must start on its own alignment; the base offset field,
// which the ISA provides for patterns that do not, is not implemented (a nonzero one stops the launch).
//
// Arithmetic is mma.sync's (Isa/Mma.cs): each warp's 16 x N tile is N/8 m16n8kK mma's with the same
// A fragment, so products are exact, sums double, one rounding to the accumulator type.
// That is more precise than Hopper for e4m3/e5m2: its tensor cores accumulate fp8 products with
// about 14 bits of mantissa (DeepSeek-V3's technical report), which is why DeepGEMM promotes partial
// sums into fp32 registers every few k-blocks. A kernel without that promotion looks more accurate
// here than on a GPU; its fp8 accuracy must be measured on the GPU. ZOETROPE_EMU_FP8_ACC=hopper
// turns on a coarse MODEL of that loss (Fp8AccumulationModel below; off by default), enough to
// show whether a kernel's promotion keeps it within tolerance, not a bit-exact description of the
// hardware.
using System.Runtime.CompilerServices;

namespace Zoetrope.Emulator.Isa;

/// <summary>The descriptor's swizzle modes, as encoded in bits 62-63.</summary>
internal enum WgmmaSwizzle
{
    None = 0,
    B128 = 1,
    B64 = 2,
    B32 = 3,
}

/// <summary>A decoded shared-memory matrix descriptor (byte quantities).</summary>
internal readonly record struct WgmmaDescriptor(uint Start, uint Lbo, uint Sbo, int BaseOffset, WgmmaSwizzle Swizzle)
{
    public static WgmmaDescriptor Decode(ulong d) => new(
        (uint)(d & 0x3FFF) << 4,
        (uint)((d >> 16) & 0x3FFF) << 4,
        (uint)((d >> 32) & 0x3FFF) << 4,
        (int)((d >> 49) & 7),
        (WgmmaSwizzle)((d >> 62) & 3));

    public ulong Encode() => ((ulong)(Start >> 4) & 0x3FFF) | (((ulong)(Lbo >> 4) & 0x3FFF) << 16)
        | (((ulong)(Sbo >> 4) & 0x3FFF) << 32) | ((ulong)(BaseOffset & 7) << 49) | ((ulong)Swizzle << 62);

    /// <summary>Row width of the swizzle atom in 16-byte chunks (W): 1, 2, 4, 8.</summary>
    public int Chunks => Swizzle switch { WgmmaSwizzle.B32 => 2, WgmmaSwizzle.B64 => 4, WgmmaSwizzle.B128 => 8, _ => 1 };

    /// <summary>
    /// The shared address of element (mn, k) of the operand (mn the row of A or the column of B),
    /// K-major or MN-major, after the swizzle.
    /// </summary>
    public uint Address(bool mnMajor, int elementBytes, int mn, int k)
    {
        int t = 16 / elementBytes;
        int w = Chunks;
        long off;
        if (!mnMajor)
        {
            int row = mn & 7, group = mn >> 3, chunk = k / t, inner = k % t;
            off = Swizzle == WgmmaSwizzle.None
                ? (row * 16L) + (group * (long)Sbo) + (chunk * (long)Lbo) + (inner * elementBytes)
                : (row * 16L * w) + (group * (long)Sbo) + (chunk * 16L) + (inner * elementBytes);
        }
        else
        {
            int inner = mn % t, chunk = mn / t, kr = k & 7, kg = k >> 3;
            off = Swizzle == WgmmaSwizzle.None
                ? (inner * elementBytes) + (chunk * (long)Sbo) + (kr * 16L) + (kg * (long)Lbo)
                : (inner * elementBytes) + (chunk % w * 16L) + (chunk / w * (long)Lbo) + (kr * 16L * w) + (kg * (long)Sbo);
        }
        return Swizzled((uint)(Start + off), Swizzle);
    }

    /// <summary>The address after the descriptor's swizzle: the same XOR TMA applies (Isa/Swizzle.cs), under the descriptor's own numbering of the modes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Swizzled(uint address, WgmmaSwizzle s) => (uint)Isa.Swizzle.Apply((int)address, s switch
    {
        WgmmaSwizzle.B128 => SwizzleMode.B128,
        WgmmaSwizzle.B64 => SwizzleMode.B64,
        WgmmaSwizzle.B32 => SwizzleMode.B32,
        _ => SwizzleMode.None,
    });
}

/// <summary>A wgmma.mma_async's decoded shape and types.</summary>
internal sealed record WgmmaKind(int N, int K, string DType, string AType, string BType, bool SatFinite)
{
    /// <summary>Parses the modifiers; null with a reason when the emulator does not implement the form.</summary>
    public static WgmmaKind? Parse(string[] parts, out string why)
    {
        // wgmma.mma_async.sync.aligned.m64nNkK{.satfinite}.dtype.atype.btype
        why = "";
        if (parts.Contains("sp"))
        {
            why = "sparse wgmma (.sp) is not implemented";
            return null;
        }
        string? shape = parts.FirstOrDefault(p => p.Length > 3 && p[0] == 'm' && p.Contains('n') && p.Contains('k'));
        var types = parts.Where(p => p is "f16" or "bf16" or "f32" or "s32" or "s8" or "u8" or "e4m3" or "e5m2" or "tf32" or "b1").ToArray();
        if (shape is null || types.Length != 3)
        {
            why = "cannot read its shape and types";
            return null;
        }
        int ni = shape.IndexOf('n'), ki = shape.IndexOf('k');
        if (!shape.StartsWith("m64", StringComparison.Ordinal) || ni != 3 || ki < ni
            || !int.TryParse(shape.AsSpan(ni + 1, ki - ni - 1), out int n) || !int.TryParse(shape.AsSpan(ki + 1), out int k))
        {
            why = $"shape {shape} is not m64nNkK";
            return null;
        }
        if (n < 8 || n > 256 || n % 8 != 0)
        {
            why = $"N = {n} is not a multiple of 8 in 8..256";
            return null;
        }
        var kind = new WgmmaKind(n, k, types[0], types[1], types[2], parts.Contains("satfinite"));
        bool ok = (k, kind.DType, kind.AType, kind.BType) switch
        {
            (16, "f32" or "f16", "f16", "f16") => true,
            (16, "f32", "bf16", "bf16") => true,
            (32, "s32", "s8" or "u8", "s8" or "u8") => true,
            (32, "f32" or "f16", "e4m3" or "e5m2", "e4m3" or "e5m2") => true,
            _ => false,
        };
        if (!ok)
        {
            why = $"k{k} .{kind.DType}.{kind.AType}.{kind.BType} is not implemented (f16/bf16 k16, s8/u8 k32, e4m3/e5m2 k32 are)";
            return null;
        }
        if (kind.IsInteger && n > 32 && n % 16 != 0)
        {
            // The integer shapes are n8..n32 by 8, then n48..n256 by 16.
            why = $"N = {n} is not an integer wgmma shape (8, 16, 24, 32, then multiples of 16 to 256)";
            return null;
        }
        if (kind.SatFinite && kind.DType != "s32")
        {
            why = ".satfinite applies to integer wgmma only";
            return null;
        }
        return kind;
    }

    public bool IsInteger => DType == "s32";
    public bool IsHalf => AType is "f16" or "bf16";
    public int ElementBytes => IsHalf ? 2 : 1;
    /// <summary>Accumulator registers per thread: N/2 for 32-bit D, N/4 for f16 D.</summary>
    public int DRegisters => DType == "f16" ? N / 4 : N / 2;
    /// <summary>Registers of A per thread when A comes from registers.</summary>
    public const int ARegisters = 4;
    /// <summary>The operands after d, a, b: scale-d, then imm-scale-a, imm-scale-b (floating point), imm-trans-a (A in shared memory), imm-trans-b (f16/bf16).</summary>
    public int ExtraOperands(bool aInRegisters) => IsInteger ? 1 : !IsHalf ? 3 : aInRegisters ? 4 : 5;

    /// <summary>2 m n k of the whole warpgroup's instruction.</summary>
    public long Ops => 2L * 64 * N * K;

    public MmaLayout ALayout => IsHalf ? MmaLayout.A16816F16 : MmaLayout.A16832I8;
    public MmaLayout BLayout => IsHalf ? MmaLayout.B16816F16 : MmaLayout.B16832I8;

    private static FpFormat Format(string t) => t switch
    {
        "f16" => FpFormat.F16,
        "bf16" => FpFormat.BF16,
        "e4m3" => FpFormat.E4M3,
        _ => FpFormat.E5M2,
    };

    public FpFormat AFormat => Format(AType);
    public FpFormat BFormat => Format(BType);
}

/// <summary>
/// An opt-in MODEL of Hopper's limited fp8 wgmma accumulation, not a description of the hardware:
/// DeepSeek-V3's technical report (section 3.3.2) measured that H800's FP8 GEMMs keep "around 14
/// bits" of their accumulator, and DeepGEMM and SageAttention2 promote partial sums into fp32
/// registers because of it; NVIDIA documents neither the width nor where the bits are dropped.
/// The model: the f32 result of every e4m3/e5m2 wgmma with f32 D (its running sum: C plus this
/// instruction's products, computed exactly and rounded to fp32 as without the model) is truncated
/// toward zero to <see cref="MantissaBits"/> explicit mantissa bits (14 significant, an "FP22"
/// accumulator: 1 sign, 8 exponent, 13 mantissa bits). How the products inside one instruction are
/// aligned and added on the GPU is not modelled. f16/bf16 and integer wgmma, mma.sync and
/// everything else are unaffected. Off unless <c>ZOETROPE_EMU_FP8_ACC=hopper</c> (or a test's
/// <see cref="Use"/>); <c>exact</c> or unset is the default exact-then-rounded sum.
/// </summary>
internal static class Fp8AccumulationModel
{
    /// <summary>The environment variable: <c>hopper</c> turns the model on, <c>exact</c> (or unset) leaves it off.</summary>
    public const string Variable = "ZOETROPE_EMU_FP8_ACC";

    /// <summary>Explicit mantissa bits the model keeps of each fp8 wgmma result (fp32 has 23).</summary>
    public const int MantissaBits = 13;

    private static readonly Lazy<bool> FromEnvironment = new(() => Parse(Environment.GetEnvironmentVariable(Variable)));
    // A test's setting for its own flow of execution (the launch's CTA workers inherit it), so it
    // never leaks into other tests.
    private static readonly AsyncLocal<bool?> Scoped = new();

    /// <summary>Whether fp8 wgmma results are truncated (the test's <see cref="Use"/> setting, else the environment's).</summary>
    /// <exception cref="EmulatorException">The variable holds neither <c>hopper</c> nor <c>exact</c>.</exception>
    public static bool Hopper => Scoped.Value ?? FromEnvironment.Value;

    /// <summary>Turns the model on or off until the returned scope is disposed (tests).</summary>
    public static IDisposable Use(bool hopper)
    {
        bool? saved = Scoped.Value;
        Scoped.Value = hopper;
        return new Restore(saved);
    }

    /// <summary>The variable's value as a setting; a misspelt value stops the launch rather than silently running exact.</summary>
    internal static bool Parse(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "exact" => false,
        "hopper" => true,
        _ => throw new EmulatorException(EmuError.InvalidValue,
            $"{Variable}={value}: 'hopper' (a model of Hopper's ~14-bit fp8 wgmma accumulation) or 'exact' (the default)"),
    };

    /// <summary>An fp32 value (bits) truncated toward zero to <see cref="MantissaBits"/> mantissa bits; NaN and infinity pass unchanged.</summary>
    public static uint Truncate(uint f32)
    {
        if ((f32 & 0x7F80_0000u) == 0x7F80_0000u)
        {
            return f32;
        }
        // Clearing the low fraction bits of a sign-magnitude encoding rounds the magnitude down.
        return f32 & ~((1u << (23 - MantissaBits)) - 1);
    }

    private sealed class Restore(bool? saved) : IDisposable
    {
        public void Dispose() => Scoped.Value = saved;
    }
}

internal static class Wgmma
{
    /// <summary>
    /// Packs one warp's fragment of <paramref name="layout"/> from a matrix given element by element
    /// as raw bits (<paramref name="element"/>(row, col) of the layout's Rows x Cols matrix), XORing
    /// <paramref name="flip"/> into every element (a sign bit: imm-scale -1).
    /// </summary>
    internal static void Pack(MmaLayout layout, Func<int, int, uint> element, uint flip, Span<uint> frag)
    {
        frag[..(layout.Registers * 32)].Clear();
        for (int lane = 0; lane < 32; lane++)
        {
            for (int i = 0; i < layout.ElementsPerLane; i++)
            {
                (int r, int c) = layout.Map(lane, i);
                (int reg, int shift) = layout.Slot(i);
                frag[(reg * 32) + lane] |= (element(r, c) ^ flip) << shift;
            }
        }
    }

    /// <summary>
    /// One warp's 16 x N share of the instruction: <paramref name="a"/> is its A fragment (the
    /// m16n8kK A layout, 4 registers x 32 lanes, imm-scale-a already applied), <paramref name="b"/>(n, k)
    /// the raw bits of B's element, <paramref name="c"/>/<paramref name="d"/> its accumulator registers
    /// (DRegisters x 32 lanes; d may alias c). scaleD false: D = A·B, the old D ignored.
    /// fp8 operands with f32 D under <see cref="Fp8AccumulationModel"/>: each result truncated.
    /// </summary>
    internal static void WarpTile(WgmmaKind kind, ReadOnlySpan<uint> a, Func<int, int, uint> b, bool negB,
        ReadOnlySpan<uint> c, bool scaleD, Span<uint> d)
    {
        MmaLayout bLayout = kind.BLayout;
        int per = kind.DRegisters / (kind.N / 8) * 32;   // accumulator words of one n8 block
        Span<uint> bFrag = stackalloc uint[bLayout.Registers * 32];
        Span<uint> cBlock = stackalloc uint[per];
        Span<uint> dBlock = stackalloc uint[per];
        uint flipB = negB ? 1u << ((8 * kind.ElementBytes) - 1) : 0;
        bool fp8Model = !kind.IsInteger && !kind.IsHalf && kind.DType == "f32" && Fp8AccumulationModel.Hopper;
        for (int j = 0; j < kind.N / 8; j++)
        {
            int n0 = 8 * j;
            // B's layout is K x 8 (row k, column n).
            Pack(bLayout, (k, n) => b(n0 + n, k), flipB, bFrag);
            if (scaleD)
            {
                c.Slice(j * per, per).CopyTo(cBlock);
            }
            else
            {
                cBlock.Clear();
            }
            if (kind.IsInteger)
            {
                Mma.Integer(kind.ALayout, bLayout, a, bFrag, cBlock, dBlock, kind.AType == "s8", kind.BType == "s8", kind.SatFinite);
            }
            else
            {
                bool f16 = kind.DType == "f16";
                Mma.Float(kind.ALayout, bLayout, kind.AFormat, kind.BFormat, a, bFrag, cBlock, f16, dBlock, f16);
                if (fp8Model)
                {
                    for (int i = 0; i < per; i++)
                    {
                        dBlock[i] = Fp8AccumulationModel.Truncate(dBlock[i]);
                    }
                }
            }
            dBlock.CopyTo(d.Slice(j * per, per));
        }
    }
}
