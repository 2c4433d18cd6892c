// flash_sm90_traits.cuh: the Traits of the sm_90a attention kernel (flash_sm90_mainloop.cuh lists
// what a Traits supplies), one main loop for both:
//   DenseTr<T, D>               f16/bf16 Q, K, V; S in f32, scores * scale * log2(e)
//   SageTr<T, D, kPv, kKRows>   SageAttention (sage_attention.cu has the semantics): INT8 Q, K
//                               (wgmma s8 -> s32), each S element times its Q row block's scale
//                               (sm_scale * log2 e folded in) and its key's scale (kKRows 64: one
//                               per 64 keys, two per 128-key tile; 1: one per key token); P V in
//                               V's own 16-bit type (kPv 0), or e4m3 P * 448 times the V pre-pass's
//                               per-channel e4m3 codes (kPv 1), v_scale / 448 in the epilogue;
//                               the LSE plus the K-smoothing term (q . k_mean) * q_scale * ln 2.
//
// Sage's shared operands:
//   Q, K    INT8 rows of D bytes, K-major: D = 128 is one 128-byte swizzled row (desc_k128b), D =
//           64 a 64-byte one (TMA's 64B swizzle and desc_k64b: an 8-row atom of 512 bytes); a k32
//           step is 32 bytes further in the row either way. Q is loaded per warpgroup (two
//           64-row boxes) at the start of that warpgroup's own rows of the 16-bit O tile, so its
//           epilogue overwrites only its own Q.
//   V       kPv 0: as DenseTr's (D / 64 chunks of [keys][128 bytes], MN-major, transposed B).
//           kPv 1: the pre-pass's codes [b, hkv, channel, keys padded to 64], a box per half of
//           the tile: D channel rows x 64 keys (64 bytes, the 64B swizzle), exactly a K-major B of
//           N = D, K = 64 keys; a k32 step is 32 bytes into the rows of half kk / 2.
//           The pre-pass permutes keys within each 16 (key 2t, 2t + 1, 2t + 8, 2t + 9 at bytes
//           4t..4t + 3) for mma.sync m16n8k32's A fragment; wgmma's 8-bit A register fragment is
//           the same per warp (rows g, g + 8; k 4t..4t + 3 and 16 + 4t..), and the S accumulator's
//           lane t holds columns 8j + 2t, 2t + 1: so P packs from S with no shuffle, in the order
//           the codes are stored.
#pragma once

#include "attention/flash_traits.cuh"  // e4m3x4, kFp8Max, v_code_pad (host-side only there otherwise)
#include "hopper/flash_sm90_mainloop.cuh"

namespace zt::hopper::attn90 {

// A K-major operand in the 64-byte swizzle (PTX ISA "Matrix Descriptor Format": layout type 2):
// rows of 64 bytes, 8-row atoms of 512 bytes (SBO), the buffer 512-byte aligned.
__device__ __forceinline__ uint64_t desc_k64b(uint32_t smem_addr) {
    return (uint64_t)((smem_addr >> 4) & 0x3FFF) | ((uint64_t)1 << 16) | ((uint64_t)(512 >> 4) << 32) | ((uint64_t)2 << 62);
}

// --- 16-bit operands, shared by DenseTr and SageTr<kPv 0> ---------------------------------------

// A tile of D / 64 boxes {64 columns, 128 rows} (Q's rows m0.., K's or V's keys k0..).
template <int D>
__device__ __forceinline__ void load_chunks(char* dst, int chunk_bytes, const CUtensorMap* map, uint64_t* bar, int32_t row, int h, int b) {
#pragma unroll
    for (int c = 0; c < D / kChunkCols; ++c) tma_load_4d(dst + c * chunk_bytes, map, bar, c * kChunkCols, row, h, b);
}

// K and V tiles come as two boxes of 64 keys each (the maps' box rows), one per half of the
// tile, from wherever its keys lie (flash_sm90_schedule.cuh's KeyTile). An empty half (kNoHalf:
// a LUT walk's odd last chunk, or a dense tile's second half past every row's keys) reloads the
// first half's keys: the softmax masks its columns (P = 0), and they hold finite keys, not
// another tile's stale ones (P = 0 times a stale NaN would be NaN). Reading it from far past the
// tensor's end instead would move no bytes, but would rest on TMA's handling of a box lying
// wholly outside the tensor, which no stored document states; an empty half is rare enough
// (at most one per walk) that the 64 keys it moves do not matter.
__device__ __forceinline__ int32_t half_row(const KeyTile& t, int half) { return t.key[half] != kNoHalf ? t.key[half] : t.key[0]; }

// A 16-bit K or V tile: D / 64 column chunks of [128 keys][128 bytes], each as two 64-key boxes.
template <int D>
__device__ __forceinline__ void load_halves(char* dst, int chunk_bytes, const CUtensorMap* map, uint64_t* bar, const KeyTile& t, int hkv, int b) {
#pragma unroll
    for (int c = 0; c < D / kChunkCols; ++c)
#pragma unroll
        for (int half = 0; half < 2; ++half)
            tma_load_4d(dst + c * chunk_bytes + half * kHalfKeys * 128, map, bar, c * kChunkCols, half_row(t, half), hkv, b);
}

// P as wgmma's A fragments: k-step kk is columns 16kk..16kk+15 = accumulator n8 tiles 2kk, 2kk + 1.
template <typename T>
__device__ __forceinline__ void pack_p16(uint32_t (&pa)[kBlockN / 16][4], const float (&s)[kBlockN / 2]) {
#pragma unroll
    for (int kk = 0; kk < kBlockN / 16; ++kk) {
        pa[kk][0] = zt::flash::pack2<T>(s[8 * kk + 0], s[8 * kk + 1]);
        pa[kk][1] = zt::flash::pack2<T>(s[8 * kk + 2], s[8 * kk + 3]);
        pa[kk][2] = zt::flash::pack2<T>(s[8 * kk + 4], s[8 * kk + 5]);
        pa[kk][3] = zt::flash::pack2<T>(s[8 * kk + 6], s[8 * kk + 7]);
    }
}

// O += P V, V [keys, D] D-contiguous (MN-major B): k-step kk is keys 16kk.. = 2048 bytes into
// each column chunk; the chunks are the descriptor's LBO apart.
template <typename T, int D>
__device__ __forceinline__ void issue_pv16(float (&o)[D / 2], const uint32_t (&pa)[kBlockN / 16][4], uint32_t v_base) {
#pragma unroll
    for (int kk = 0; kk < kBlockN / 16; ++kk) WgmmaRs<T, D>::mma(o, pa[kk], desc_mn128b(v_base + kk * 2048, kBlockN * 128), 1);
}

// --- dense --------------------------------------------------------------------------------------

template <typename T, int D>
struct DenseTr {
    using Out = T;
    using Acc = float;
    using Sm = Smem<D>;
    static constexpr int kD = D;
    static constexpr int kQLoadBytes = Sm::kQBytes;
    static constexpr int kPvSteps = kBlockN / 16;
    static constexpr bool kOutScale = false, kLseShift = false;
    static constexpr bool kPromotePv = false;  // 16-bit P·V accumulates in fp32 on the tensor cores
    static constexpr int kPvParts = 1;
    float factor;  // scale * log2(e)

    static __device__ __forceinline__ void load_q(char* q, const CUtensorMap* map, uint64_t* bar, int32_t m0, int h, int b) {
        load_chunks<D>(q, Sm::kQChunkBytes, map, bar, m0, h, b);
    }
    static __device__ __forceinline__ void load_k(char* dst, const CUtensorMap* map, uint64_t* bar, const KeyTile& t, int hkv, int b) {
        load_halves<D>(dst, Sm::kTileChunkBytes, map, bar, t, hkv, b);
    }
    static __device__ __forceinline__ void load_v(char* dst, const CUtensorMap* map, uint64_t* bar, const KeyTile& t, int hkv, int b) {
        load_halves<D>(dst, Sm::kTileChunkBytes, map, bar, t, hkv, b);
    }

    // S = Q K^T, issued (the caller fences, commits and waits): k-step kk reads 32 bytes of each
    // row, in column chunk kk / 4.
    static __device__ __forceinline__ void issue_s(float (&s)[kBlockN / 2], uint32_t q_base, uint32_t k_base) {
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk) {
            const uint32_t off = (kk % 4) * 32;
            Wgmma<T>::m64n128(s, desc_k128b(q_base + (kk / 4) * Sm::kQChunkBytes + off), desc_k128b(k_base + (kk / 4) * Sm::kTileChunkBytes + off),
                              kk > 0);
        }
    }
    __device__ __forceinline__ float row_scale(const zt::flash::Problem&, int, int, int64_t) const { return factor; }
    // The accumulator is the logits as is; the factor goes into the softmax's FMA.
    __device__ __forceinline__ float logits(float (&s)[kBlockN / 2], const float (&acc)[kBlockN / 2], const zt::flash::Problem&, int, int, float rs,
                                            const KeyTile&) const {
#pragma unroll
        for (int i = 0; i < kBlockN / 2; ++i) s[i] = acc[i];
        return rs;
    }
    static __device__ __forceinline__ void pack_p(uint32_t (&pa)[kPvSteps][4], const float (&s)[kBlockN / 2]) { pack_p16<T>(pa, s); }
    static __device__ __forceinline__ void issue_pv(float (&o)[D / 2], const uint32_t (&pa)[kPvSteps][4], uint32_t v_base) {
        issue_pv16<T, D>(o, pa, v_base);
    }
    __device__ __forceinline__ float out_scale(const zt::flash::Problem&, int, int, int) const { return 1.f; }
    __device__ __forceinline__ float lse_shift_part(const zt::flash::Problem&, int, int, int, int64_t, int) const { return 0.f; }
};

// --- Sage ---------------------------------------------------------------------------------------

template <typename T, int D, int kPv, int kKRows>
struct SageTr {
    static_assert(kKRows == 64 || kKRows == 1, "K scales per 64 keys or per key");
    using Out = T;
    using Acc = int;
    using Sm = SageSmem<D, kPv>;
    static constexpr int kD = D;
    static constexpr int kQLoadBytes = kBlockM * D;
    static constexpr int kPvSteps = kPv == 1 ? kBlockN / 32 : kBlockN / 16;
    static constexpr bool kOutScale = kPv == 1, kLseShift = true;
    // FP8 P·V: an H100's e4m3 wgmma adds into its f32 accumulator with about 14 significant bits
    // (DeepSeek-V3; SageAttention2 measures an FP22 accumulator), so a tile's P·V goes into a
    // fresh partial that is added into O in fp32 (SageAttention2's two-level accumulation), not
    // into O itself across every tile of the sequence. At D = 128 a whole partial (64 registers)
    // beside S, O and P spills 170-240 bytes under the consumers' 240 (ptxas), so the partial
    // covers half of O's columns at a time (kPvParts 2, 32 registers): the first half's P·V runs
    // under the softmax as the whole one does at D = 64, the second half's after it
    // (flash_sm90_mainloop.cuh's Consumer::finish_pv).
    static constexpr bool kPromotePv = kPv == 1;
    static constexpr int kPvParts = kPv == 1 && D == 128 ? 2 : 1;
    const int8_t* q;  // for the LSE's smoothing term
    const float* q_scale;
    const float* k_scale;
    const float* k_mean;  // null: no smoothing term
    const float* v_scale;
    int q_rows, q_blocks, k_blocks;  // k_blocks: K scales per (b, hkv) with kKRows 64

    static __device__ __forceinline__ uint64_t desc_qk(uint32_t addr) {
        if constexpr (D == 128) return desc_k128b(addr);
        else return desc_k64b(addr);
    }

    static __device__ __forceinline__ void load_q(char* q, const CUtensorMap* map, uint64_t* bar, int32_t m0, int h, int b) {
#pragma unroll
        for (int w = 0; w < kConsumers; ++w) tma_load_4d(q + w * kWgRows * 128, map, bar, 0, m0 + w * kWgRows, h, b);
    }
    // K: [128 keys][D bytes] as two 64-key boxes (the swizzle atom is 8 rows: the halves stack).
    static __device__ __forceinline__ void load_k(char* dst, const CUtensorMap* map, uint64_t* bar, const KeyTile& t, int hkv, int b) {
#pragma unroll
        for (int half = 0; half < 2; ++half) tma_load_4d(dst + half * kHalfKeys * D, map, bar, 0, half_row(t, half), hkv, b);
    }
    // kPv 1: a half's codes are a box {64 keys, D channels}: D rows of 64 bytes (the 64-byte
    // swizzle), the half's own K-major B of N = D, K = 64 (kCodeHalfBytes apart).
    static constexpr int kCodeHalfBytes = kHalfKeys * D;
    static __device__ __forceinline__ void load_v(char* dst, const CUtensorMap* map, uint64_t* bar, const KeyTile& t, int hkv, int b) {
        if constexpr (kPv == 1) {
#pragma unroll
            for (int half = 0; half < 2; ++half) tma_load_4d(dst + half * kCodeHalfBytes, map, bar, half_row(t, half), 0, hkv, b);  // {keys, channels, hkv, b}
        } else {
            load_halves<D>(dst, Sm::kTileChunkBytes, map, bar, t, hkv, b);
        }
    }

    // S = Q K^T in s32: D / 32 k-steps of 32 bytes along the rows.
    static __device__ __forceinline__ void issue_s(int (&s)[kBlockN / 2], uint32_t q_base, uint32_t k_base) {
#pragma unroll
        for (int kk = 0; kk < D / 32; ++kk) Wgmma<int8_t>::m64n128(s, desc_qk(q_base + 32 * kk), desc_qk(k_base + 32 * kk), kk > 0);
    }

    // The Q scale of the warp's 16 rows (q_rows >= 16: one block); a row past q_len is never
    // stored, but its scale is read in bounds.
    __device__ __forceinline__ float row_scale(const zt::flash::Problem& p, int b, int h, int64_t row) const {
        if (row >= p.q_len) row = p.q_len - 1;
        return q_scale[((int64_t)b * p.heads + h) * q_blocks + row / q_rows];
    }
    // s = acc * q scale * the key's scale, in log2 units already (factor 1). A key past kv_len, or
    // in an empty half, gets scale 0 (finite; the mask makes it -inf). Columns 64h.. are half h's
    // keys (a half lies in one 64-key K-scale block: halves start at multiples of 64).
    __device__ __forceinline__ float logits(float (&s)[kBlockN / 2], const int (&acc)[kBlockN / 2], const zt::flash::Problem& p, int b, int hkv,
                                            float qs, const KeyTile& t) const {
        constexpr int kHalfRegs = kBlockN / 4;  // a half's 64 columns: accumulator tiles j = 8h..8h + 7
        if constexpr (kKRows == 1) {
            // k_scale is k's layout without D: key j of (b, hkv) at k's offset / D + j * step. One
            // 64-bit base, then 32-bit indices (sage_attention_sm90_eligible: kv_len * step < 2^31;
            // a 64-bit pointer per half, or per-key int64 products, spilled at D = 128).
            const int step = (int)(p.kv.token / D);
            const float* base = k_scale + p.kv.of(b, hkv, 0) / D;
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const bool some = t.key[h] != kNoHalf;
                const int c0 = (some ? t.key[h] : 0) + 2 * (threadIdx.x & 3);
                const int lim = some ? p.kv_len - c0 : 0;
#pragma unroll
                for (int jj = 0; jj < kHalfKeys / 8; ++jj)
#pragma unroll
                    for (int e = 0; e < 2; ++e) {
                        const int off = 8 * jj + e, j = 8 * h + jj;
                        const float f = off < lim ? qs * base[(c0 + off) * step] : 0.f;
                        s[4 * j + e] = (float)acc[4 * j + e] * f;
                        s[4 * j + 2 + e] = (float)acc[4 * j + 2 + e] * f;
                    }
            }
        } else {
            const int64_t at = ((int64_t)b * p.kv_heads + hkv) * k_blocks;
            float f[2];
#pragma unroll
            for (int h = 0; h < 2; ++h) f[h] = t.key[h] != kNoHalf && t.key[h] < p.kv_len ? qs * k_scale[at + t.key[h] / 64] : 0.f;
#pragma unroll
            for (int i = 0; i < kBlockN / 2; ++i) s[i] = (float)acc[i] * f[i / kHalfRegs];
        }
        return 1.f;
    }

    // kPv 1: P * 448 as e4m3, k32 step kk = keys 32kk..: register 2hg + i holds row g + 8i,
    // keys 8j + 2t, +1, 8j + 8 + 2t, +1 (j = 4kk + 2hg), the pre-pass's order.
    static __device__ __forceinline__ void pack_p(uint32_t (&pa)[kPvSteps][4], const float (&s)[kBlockN / 2]) {
        if constexpr (kPv == 1) {
            using zt::flash::kFp8Max;
#pragma unroll
            for (int kk = 0; kk < kPvSteps; ++kk)
#pragma unroll
                for (int hg = 0; hg < 2; ++hg)
#pragma unroll
                    for (int i = 0; i < 2; ++i) {
                        const int j = 4 * kk + 2 * hg;
                        pa[kk][2 * hg + i] = zt::flash::e4m3x4(s[4 * j + 2 * i] * kFp8Max, s[4 * j + 2 * i + 1] * kFp8Max, s[4 * j + 4 + 2 * i] * kFp8Max,
                                                               s[4 * j + 5 + 2 * i] * kFp8Max);
                    }
        } else {
            pack_p16<T>(pa, s);
        }
    }
    // kPv 1: B is the codes of the tile's two halves, each D rows (channels) of 64 keys: k-step kk
    // (keys 32kk..) is half kk / 2, 32 bytes into each row for an odd kk. Into the fresh partial
    // (kPromotePv): its first k-step overwrites it.
    static __device__ __forceinline__ uint32_t code_step(uint32_t v_base, int kk) { return v_base + (kk / 2) * kCodeHalfBytes + 32 * (kk % 2); }
    static __device__ __forceinline__ void issue_pv(float (&o)[D / 2], const uint32_t (&pa)[kPvSteps][4], uint32_t v_base) {
        if constexpr (kPv == 1) {
#pragma unroll
            for (int kk = 0; kk < kPvSteps; ++kk) WgmmaRs<__nv_fp8_e4m3, D>::mma(o, pa[kk], desc_k64b(code_step(v_base, kk)), kk > 0);
        } else {
            issue_pv16<T, D>(o, pa, v_base);
        }
    }

    // kPv 1, kPvParts 2: O's columns 64 part.. only, into a fresh partial of 32 registers (B's
    // rows are the channels: those columns start 64 rows = 8 swizzle atoms further in each half).
    static __device__ __forceinline__ void issue_pv_half(float (&d)[D / 4], const uint32_t (&pa)[kPvSteps][4], uint32_t v_base, int part) {
        static_assert(kPv == 1 && D == 128, "the split partial is FP8 P·V at D = 128's");
#pragma unroll
        for (int kk = 0; kk < kPvSteps; ++kk)
            WgmmaRs<__nv_fp8_e4m3, D / 2>::mma(d, pa[kk], desc_k64b(code_step(v_base, kk) + part * (D / 2) * 64), kk > 0);
    }

    // kPv 1: P carried 448, V its channel's scale.
    __device__ __forceinline__ float out_scale(const zt::flash::Problem& p, int b, int hkv, int col) const {
        return v_scale[((int64_t)b * p.kv_heads + hkv) * D + col] * (1.f / zt::flash::kFp8Max);
    }
    // Lane t's part of (q . k_mean) * q_scale * ln 2 (channels 4t + 16i), as the mma.sync kernel's.
    __device__ __forceinline__ float lse_shift_part(const zt::flash::Problem& p, int b, int h, int hkv, int64_t row, int t) const {
        if (!k_mean || row >= p.q_len) return 0.f;
        const int8_t* qr = q + p.q.of(b, h, row);
        const float* km = k_mean + ((int64_t)b * p.kv_heads + hkv) * D;
        float dot = 0.f;
#pragma unroll
        for (int c = 4 * t; c < D; c += 16) {
            const char4 w = *reinterpret_cast<const char4*>(qr + c);
            const float4 m = *reinterpret_cast<const float4*>(km + c);
            dot += (float)w.x * m.x + (float)w.y * m.y + (float)w.z * m.z + (float)w.w * m.w;
        }
        return dot * q_scale[((int64_t)b * p.heads + h) * q_blocks + row / q_rows] * 0.69314718056f;
    }
};

}  // namespace zt::hopper::attn90
