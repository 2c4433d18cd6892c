// flash_sm90_mainloop.cuh: the warp-specialized main loop of the sm_90a attention kernel
// (attention_sm90.cu), after FlashAttention-3's hopper/ design (producer warp + wgmma consumer
// warpgroups around a ring of K/V stages), written on sm90.cuh's primitives.
//
//   q_full       count 1: the producer's arrive.expect_tx(Q bytes); the Q tile, loaded once
//   k_full[s]    count 1: expect_tx(K tile bytes); the K tile of stage s landed
//   v_full[s]    count 1: expect_tx(V tile bytes); V separately, so S = Q K^T and the softmax
//                run while V is still in flight
//   empty[s]     count 8 (the consumer warps): each warp's lane 0 arrives once the P·V wgmmas
//                that read stage s have completed, so the producer may refill it
// Producer and consumers walk the same tile sequence (a Keys::Walk of flash_sm90_schedule.cuh,
// each its own copy), so use u of a stage waits for
// full phase u & 1 and the producer's refill u >= 1 for empty phase (u - 1) & 1.
//
// Per key tile, a consumer warpgroup (64 query rows):
//   S = Q K^T      D / 16 wgmma m64n128k16, Q and K from 128B-swizzled K-major descriptors
//   mask           only on tiles its rows do not all see whole (per-row key bounds, the
//                  mma.sync kernel's KeyRange, computed once per row); fully masked tiles were
//                  never scheduled
//   softmax        online, on the accumulator fragment: row r = lane / 4 (+ 8), its 128
//                  columns spread over the quad; exp2 of s * (scale log2 e) - max in one FMA
//   overlap        tile j's S = Q K^T and tile j - 1's P V are issued together, and tile j's
//                  softmax runs while that P V is on the tensor cores (Consumer::run)
//   ping-pong      the two warpgroups take turns issuing their wgmma batches (PingPong), so
//                  one's softmax overlaps the other's GEMMs
//   O = O * rescale + P V   P packed to f16/bf16 in registers is wgmma's A fragment as is (the
//                  accumulator of columns 16k..16k+15 is the A fragment of k-step k); V [keys, D]
//                  is D-contiguous, an MN-major B operand: the transpose bit and an MN-major
//                  128B-swizzle descriptor
#pragma once

#include "attention/flash_common.cuh"
#include "hopper/flash_sm90_policy.h"
#include "hopper/flash_sm90_schedule.cuh"
#include "hopper/sm90.cuh"

namespace zt::hopper::attn90 {

// ---------------------------------------------------------------------------------------------
// Primitives the attention kernel needs beyond sm90.cuh.

// One box of a 4D tensor map {c0 (innermost, elements), c1, c2, c3} into shared memory at dst,
// the bytes completing on bar. Q/K/V maps are {D, tokens, heads, batch}: a box past a
// sequence's end is zero-filled, never the next head's rows.
__device__ __forceinline__ void tma_load_4d(void* dst, const CUtensorMap* map, uint64_t* bar, int32_t c0, int32_t c1, int32_t c2, int32_t c3) {
    asm volatile(
        "cp.async.bulk.tensor.4d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%3, %4, %5, %6}], [%2];\n" ::"r"(smem_u32(dst)),
        "l"(reinterpret_cast<uint64_t>(map)), "r"(smem_u32(bar)), "r"(c0), "r"(c1), "r"(c2), "r"(c3)
        : "memory");
}

// wgmma descriptor of an MN-major operand in the 128-byte swizzle (PTX ISA "Matrix Descriptor
// Format", MN-major swizzled canonical layout ((T, 8, m), (8, k)) : ((1, T, LBO), (8T, SBO))):
// each row of 128 bytes holds 64 consecutive 16-bit N elements for one K index; 8 K rows make a
// 1024-byte swizzle atom (SBO = 1024, the next 8 K); the next 64 N columns are LBO bytes on
// (one column chunk of the tile). A k16 step starts 16 rows = 2048 bytes further.
__device__ __forceinline__ uint64_t desc_mn128b(uint32_t smem_addr, uint32_t lbo) {
    return (uint64_t)((smem_addr >> 4) & 0x3FFF) | ((uint64_t)((lbo >> 4) & 0x3FFF) << 16) | ((uint64_t)(1024 >> 4) << 32) | ((uint64_t)1 << 62);
}

template <typename T> struct PtxType;
template <> struct PtxType<__half> { static constexpr const char* name = "f16"; };
template <> struct PtxType<__nv_bfloat16> { static constexpr const char* name = "bf16"; };

// D[64 x N] (+)= A[64 x K] (registers, the mma.sync A fragment per warp: m16n8k16 for 16-bit,
// m16n8k32 for 8-bit types) B[K x N] (shared), f32 accumulators. N = 64 or 128 (the head dim, or
// half of it). scale_d 0 overwrites D (the first k-step of a fresh partial: no zeroing first, as
// CUTLASS's ScaleOut::Zero), 1 accumulates. 16-bit: K = 16, B MN-major (imm-trans-b = 1). e4m3:
// K = 32, B K-major (8-bit types have no transpose), and the tail is imm-scale-a, imm-scale-b only.
template <typename T, int N> struct WgmmaRs;

#define ZT_ATTN90_RS_D32 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}"
#define ZT_ATTN90_RS_D64 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}"
#define ZT_ATTN90_RS_OUT32 "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), \
    "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), \
    "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
#define ZT_ATTN90_RS_OUT64 "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), \
    "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), \
    "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), \
    "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), \
    "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), \
    "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
#define ZT_ATTN90_RS(T, KTY, TAIL)                                                                                                                \
    template <> struct WgmmaRs<T, 64> {                                                                                                            \
        static __device__ __forceinline__ void mma(float (&d)[32], const uint32_t (&a)[4], uint64_t db, int scale_d = 1) {                        \
            asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\nwgmma.mma_async.sync.aligned.m64n64" KTY " " ZT_ATTN90_RS_D32                  \
                         ", {%32, %33, %34, %35}, %36, p" TAIL ";\n}\n"                                                                                 \
                         : ZT_ATTN90_RS_OUT32                                                                                                        \
                         : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(scale_d));                                                      \
        }                                                                                                                                         \
    };                                                                                                                                            \
    template <> struct WgmmaRs<T, 128> {                                                                                                           \
        static __device__ __forceinline__ void mma(float (&d)[64], const uint32_t (&a)[4], uint64_t db, int scale_d = 1) {                        \
            asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\nwgmma.mma_async.sync.aligned.m64n128" KTY " " ZT_ATTN90_RS_D64                 \
                         ", {%64, %65, %66, %67}, %68, p" TAIL ";\n}\n"                                                                                 \
                         : ZT_ATTN90_RS_OUT64                                                                                                        \
                         : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(scale_d));                                                      \
        }                                                                                                                                         \
    };
ZT_ATTN90_RS(__half, "k16.f32.f16.f16", ", 1, 1, 1")
ZT_ATTN90_RS(__nv_bfloat16, "k16.f32.bf16.bf16", ", 1, 1, 1")
ZT_ATTN90_RS(__nv_fp8_e4m3, "k32.f32.e4m3.e4m3", ", 1, 1")
#undef ZT_ATTN90_RS
#undef ZT_ATTN90_RS_D32
#undef ZT_ATTN90_RS_D64
#undef ZT_ATTN90_RS_OUT32
#undef ZT_ATTN90_RS_OUT64

// Named barrier over the 128 threads of one consumer warpgroup (ids 1 and 2; 0 is __syncthreads).
__device__ __forceinline__ void wg_sync(int wg) { asm volatile("bar.sync %0, 128;\n" ::"r"(1 + wg) : "memory"); }

// FA3's ping-pong between the two consumer warpgroups: a token passed on named barriers 3 and 4
// (256 threads: one warpgroup's bar.sync + the other's bar.arrive) so that only one of them
// issues wgmmas at a time, and each one's softmax runs while the other's GEMMs occupy the
// tensor cores. Barrier 3 + w completes when warpgroup w syncs on it and the other arrives;
// warpgroup 0 starts with the token (it pre-arrives on its own barrier). Both warpgroups take
// the same number of turns (the same tiles); the second one skips its last pass, which nobody
// would wait for, so no arrival is left pending when the CTA exits.
struct PingPong {
    int wg;
    __device__ void start() const {
        if (kPingPong && wg == 0) asm volatile("bar.arrive 3, 256;\n" ::: "memory");
    }
    __device__ void acquire() const {
        if (kPingPong) asm volatile("bar.sync %0, 256;\n" ::"r"(3 + wg) : "memory");
    }
    __device__ void pass(bool last) const {
        if (kPingPong && !(wg == 1 && last)) asm volatile("bar.arrive %0, 256;\n" ::"r"(4 - wg) : "memory");
    }
};

// ---------------------------------------------------------------------------------------------
// What the variants differ in is a Traits type (flash_sm90_traits.cuh: DenseTr, SageTr), as
// flash_traits.cuh's are for the mma.sync kernel. Tr supplies:
//   Out, Acc, kD, Sm (flash_sm90_policy.h's Smem), kQLoadBytes, kPvSteps, kOutScale, kLseShift
//   load_q / load_k / load_v    the producer's TMA boxes of a tile (their bytes: kQLoadBytes,
//                               Sm::kKTileBytes, Sm::kVTileBytes)
//   issue_s(acc, q, k)          S = Q K^T wgmmas into the Acc accumulator
//   row_scale / logits          S as base-2 logits' raw values s and the factor on them (dense:
//                               s as is, times scale log2 e; Sage: times the Q row's and each key
//                               column's scales, factor 1)
//   pack_p / issue_pv           P as wgmma's A fragments, O += P V
//   out_scale / lse_shift_part  the epilogue's per-channel factor and LSE term (when kOutScale / kLseShift)

// ---------------------------------------------------------------------------------------------
// Shared memory and barriers.

template <typename Tr>
struct Ring {
    using Sm = typename Tr::Sm;
    static constexpr int kS = Sm::kStageCount;
    char* q;  // Q, and the epilogue's O: Sm::kChunks x [kBlockM rows x 128 bytes]
    char* k;  // kS x Sm::kKTileBytes
    char* v;  // kS x Sm::kVTileBytes
    uint64_t* q_full;
    uint64_t* k_full;
    uint64_t* v_full;
    uint64_t* empty;

    __device__ explicit Ring(char* raw) {
        char* base = align_shared(raw, kAlign);
        q = base;
        k = q + Sm::kQBytes;
        v = k + kS * Sm::kKTileBytes;
        q_full = reinterpret_cast<uint64_t*>(v + kS * Sm::kVTileBytes);
        k_full = q_full + 1;
        v_full = k_full + kS;
        empty = v_full + kS;
    }
    __device__ char* k_tile(int s) const { return k + s * Sm::kKTileBytes; }
    __device__ char* v_tile(int s) const { return v + s * Sm::kVTileBytes; }

    // One thread, before the CTA's first __syncthreads.
    __device__ void init() const {
        mbar_init(q_full, 1);
        for (int s = 0; s < kS; ++s) {
            mbar_init(&k_full[s], 1);
            mbar_init(&v_full[s], 1);
            mbar_init(&empty[s], 4 * kConsumers);
        }
        fence_proxy_async();  // the initialized barriers visible to TMA's complete_tx
    }
};

// The position in the ring: stage and the parity of its current use.
template <int kS>
struct RingPos {
    int stage = 0;
    uint32_t phase = 0;
    bool refill = false;  // the producer waits for empty only once every stage has been filled
    __device__ void advance() {
        if (++stage == kS) stage = 0, phase ^= 1, refill = true;
    }
};

// ---------------------------------------------------------------------------------------------
// Producer: one thread (an elected lane of the producer warpgroup's first warp); the boxes are
// the Traits' (maps {D, tokens, heads, batch}, or Sage's e4m3 V codes {keys, D, heads, batch}).
template <typename Tr, typename Walk>
__device__ __forceinline__ void produce(const Ring<Tr>& ring, const CUtensorMap* qmap, const CUtensorMap* kmap, const CUtensorMap* vmap,
                                        Walk walk, int b, int h, int hkv, int64_t m0) {
    using Sm = typename Tr::Sm;
    mbar_arrive_expect_tx(ring.q_full, Tr::kQLoadBytes);
    Tr::load_q(ring.q, qmap, ring.q_full, (int32_t)m0, h, b);
    RingPos<Sm::kStageCount> pos;
    for (KeyTile t = walk.first(); walk.valid(t); t = walk.next()) {
        if (pos.refill) mbar_wait(&ring.empty[pos.stage], pos.phase ^ 1);
        mbar_arrive_expect_tx(&ring.k_full[pos.stage], Sm::kKTileBytes);
        Tr::load_k(ring.k_tile(pos.stage), kmap, &ring.k_full[pos.stage], t, hkv, b);
        mbar_arrive_expect_tx(&ring.v_full[pos.stage], Sm::kVTileBytes);
        Tr::load_v(ring.v_tile(pos.stage), vmap, &ring.v_full[pos.stage], t, hkv, b);
        pos.advance();
    }
}

// ---------------------------------------------------------------------------------------------
// A consumer warpgroup: the O accumulator and the running max / sum of the thread's two rows
// (warp-local rows lane / 4 and lane / 4 + 8 of the warp's 16), and the steps of a key tile.
// S accumulator fragment: s[4j + r] is row lane / 4 + 8 (r >= 2), column 8j + 2 (lane % 4) + (r & 1).
template <typename Tr>
struct Consumer {
    static constexpr int D = Tr::kD;
    using Sm = typename Tr::Sm;
    using Acc = typename Tr::Acc;
    static constexpr int kS = Sm::kStageCount;
    static constexpr int kPv = Tr::kPvSteps;
    float o[D / 2];
    float row_max[2], row_sum[2];  // row_sum is lane-partial (its quad's columns); summed in the epilogue
    // The keys each of the two rows sees (flash_common.cuh's KeyRange, clamped to [0, kv_len] so
    // they fit int32 as keys do): key visible iff key < hi && (key >= lo || key < sink). Computed
    // once, so a boundary tile's mask is comparisons only (the per-tile int64 bounds of the
    // block-causal division cost 40 spilled registers with the overlap at D = 128).
    int key_lo[2], key_hi[2], key_sink[2];
    uint32_t q_base;  // the warpgroup's Q rows (column chunk 0)
    int64_t warp_row;  // the warp's first query row

    __device__ Consumer(const Ring<Tr>& ring, const zt::flash::Problem& p, int wg, int64_t m0) {
        warp_row = m0 + wg * kWgRows + ((threadIdx.x >> 5) & 3) * 16;
        const int64_t row0 = warp_row + ((threadIdx.x & 31) >> 2);
        auto clamp = [&](int64_t k) { return (int)(k < 0 ? 0 : k > p.kv_len ? p.kv_len : k); };
#pragma unroll
        for (int i = 0; i < 2; ++i) {
            const zt::flash::KeyRange r = p.mask.keys_of(row0 + 8 * i + p.q_offset, p.kv_len);
            key_lo[i] = clamp(r.lo);
            key_hi[i] = clamp(r.hi);
            key_sink[i] = clamp(r.sink_end);
        }
        q_base = smem_u32(ring.q) + wg * kWgRows * 128;
#pragma unroll
        for (int i = 0; i < D / 2; ++i) o[i] = 0.f;
        row_max[0] = row_max[1] = -INFINITY;
        row_sum[0] = row_sum[1] = 0.f;
    }

    // Masks a boundary tile (each row's key bounds once, then comparisons; masked: -inf; a LUT
    // tile's empty half too), then
    // the online softmax on base-2 logits s * factor: the running max in scaled units, P =
    // exp2(s * factor - max) as one FMA into the exp2 (the mma.sync kernel's arithmetic). s
    // becomes P; returns O's factors through rescale (applied by the caller once O is its own).
    __device__ __forceinline__ void softmax(float (&s)[kBlockN / 2], const CtaKeys& cta, const KeyTile& t, float factor, float (&rescale)[2]) {
        if (!cta.whole(t)) {
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                // Column 64h + c is key t.key[h] + c; an empty half's keys are all masked (hi 0).
                const bool some = t.key[h] != kNoHalf;
                const int c0 = (some ? t.key[h] : 0) + 2 * (threadIdx.x & 3);  // the thread's first column of the half as a key
#pragma unroll
                for (int i = 0; i < 2; ++i) {
                    const int hi = some ? key_hi[i] : 0;
#pragma unroll
                    for (int jj = 0; jj < kHalfKeys / 8; ++jj)
#pragma unroll
                        for (int e = 0; e < 2; ++e) {
                            const int key = c0 + jj * 8 + e, j = 8 * h + jj;
                            const bool seen = key < hi && (key >= key_lo[i] || key < key_sink[i]);
                            s[4 * j + 2 * i + e] = seen ? s[4 * j + 2 * i + e] : -INFINITY;  // a select: no branch per element
                        }
                }
            }
        }
        float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
        for (int j = 0; j < kBlockN / 8; ++j)
#pragma unroll
            for (int r = 0; r < 4; ++r) mx[r >> 1] = fmaxf(mx[r >> 1], s[4 * j + r]);
        float neg_max[2];
#pragma unroll
        for (int i = 0; i < 2; ++i) {
            mx[i] = zt::flash::quad_max(mx[i]);
            const float m_new = fmaxf(row_max[i], mx[i] == -INFINITY ? -INFINITY : mx[i] * factor);
            rescale[i] = m_new == -INFINITY ? 1.f : exp2f(row_max[i] - m_new);
            neg_max[i] = m_new == -INFINITY ? 0.f : -m_new;
            row_max[i] = m_new;
            row_sum[i] *= rescale[i];
        }
#pragma unroll
        for (int j = 0; j < kBlockN / 8; ++j)
#pragma unroll
            for (int r = 0; r < 4; ++r) {
                const float pe = s[4 * j + r] == -INFINITY ? 0.f : exp2f(fmaf(s[4 * j + r], factor, neg_max[r >> 1]));
                row_sum[r >> 1] += pe;
                s[4 * j + r] = pe;
            }
    }

    __device__ __forceinline__ void rescale_o(const float (&rescale)[2]) {
#pragma unroll
        for (int n = 0; n < D / 8; ++n)
#pragma unroll
            for (int r = 0; r < 4; ++r) o[4 * n + r] *= rescale[r >> 1];
    }

    // Tr::kPromotePv: the P·V of a tile lands in a fresh partial pv (its first k-step overwrites
    // it), which is added into O in fp32 registers; otherwise the wgmmas accumulate into O itself
    // (pv is never used). With Tr::kPvParts 2 the partial is half of O's columns (O's registers
    // kPvRegs * part..): the first half's wgmmas are the ones issued beside S, the second half's
    // follow (finish_pv). The fold is one FMA per element, O = O * owed + pv, as rescale_o's
    // one multiply: O's rescale is owed one tile (pv holds tile j - 1's P·V, in tile j - 1's max,
    // and O the tiles before it, still in tile j - 2's: owed is the factor between the two, the
    // rescale softmax returned for tile j - 1); tile j's own rescale is owed next.
    static constexpr int kParts = Tr::kPvParts;
    static constexpr int kPvRegs = D / 2 / kParts;
    float owed[2];
    template <int kPart>
    __device__ __forceinline__ void fold_pv(const float (&pv)[kPvRegs]) {
#pragma unroll
        for (int n = 0; n < kPvRegs / 4; ++n)
#pragma unroll
            for (int r = 0; r < 4; ++r) {
                float& on = o[kPart * kPvRegs + 4 * n + r];
                on = fmaf(on, owed[r >> 1], pv[4 * n + r]);
            }
    }
    // The partial is a wgmma accumulator only when promoted (otherwise it is never touched).
    static __device__ __forceinline__ void fence_pv(float (&pv)[kPvRegs]) {
        if constexpr (Tr::kPromotePv) fence_regs(pv);
    }
    // The P·V wgmmas issued beside S (or alone after the last tile): into O, or into the partial
    // (its first half at kParts 2).
    __device__ __forceinline__ void issue_pv(float (&pv)[kPvRegs], const uint32_t (&pa)[kPv][4], uint32_t v_base) {
        if constexpr (!Tr::kPromotePv) Tr::issue_pv(o, pa, v_base);
        else if constexpr (kParts == 1) Tr::issue_pv(pv, pa, v_base);
        else Tr::issue_pv_half(pv, pa, v_base, 0);
    }

    // Each consumer warp frees the stage once its warpgroup's wgmmas over it have completed.
    static __device__ __forceinline__ void release(const Ring<Tr>& ring, int stage) {
        __syncwarp();
        if ((threadIdx.x & 31) == 0) mbar_arrive(&ring.empty[stage]);
    }

    // Once the P·V wgmmas issued beside S have completed: O takes the tile's P·V (and the rescale
    // it owes), the stage is freed and P becomes the next A fragment (pack: s holds the next
    // tile's P). At kParts 2, O's first half is folded, the second half's P·V runs into the same
    // partial and is folded, and only then is the next P packed into pa. (Packing it into a
    // second fragment while these wgmmas ran made ptxas serialize the wgmmas of the dense-key
    // D = 128 kernels, warning C7513.) These wgmmas are issued without the ping-pong token: a
    // turn is one batch beside the softmax; this one is short and has nothing to overlap.
    // rescale: the factor softmax returned for the next tile (owed from here on when promoted).
    template <bool kPack>
    __device__ __forceinline__ void finish_pv(const Ring<Tr>& ring, int stage, float (&pv)[kPvRegs], uint32_t (&pa)[kPv][4], const float (&s)[kBlockN / 2],
                                              const float (&rescale)[2]) {
        if constexpr (!Tr::kPromotePv) {
            release(ring, stage);
            rescale_o(rescale);
        } else if constexpr (kParts == 1) {
            release(ring, stage);
            fold_pv<0>(pv);
        } else {
            fold_pv<0>(pv);
            fence_regs(pv);
            wgmma_fence();
            Tr::issue_pv_half(pv, pa, smem_u32(ring.v_tile(stage)), 1);
            wgmma_commit();
            wgmma_wait<0>();
            fence_regs(pv);
            fence_regs(pa);
            release(ring, stage);
            fold_pv<1>(pv);
        }
        if constexpr (Tr::kPromotePv) owed[0] = rescale[0], owed[1] = rescale[1];
        if constexpr (kPack) Tr::pack_p(pa, s);
    }

    // The main loop, with FA3's intra-warpgroup overlap: tile j's S = Q K^T is issued, then tile
    // j - 1's P V, and tile j's softmax runs while P V is on the tensor cores (wait_group 1: the
    // older group, S, has completed); O is rescaled (or, promoted, takes the partial: finish_pv)
    // only after P V has landed, and P's registers are rewritten only then. The first tile has no
    // P V before it, the last one's P V is issued after the loop. S, P and O are live together:
    // 64 + 32 + D / 2 registers (Sage's e4m3 P: 16; its partial: D / 2, or D / 4 at D = 128). The
    // accumulator (Acc: f32, or Sage's s32) becomes the logits s on landing. Every batch issued
    // beside a softmax is issued holding the ping-pong token (one turn per batch, the same count
    // for both warpgroups); finish_pv's second-half wgmmas at D = 128 are not.
    template <typename Walk>
    __device__ __forceinline__ void run(const Ring<Tr>& ring, const Tr& tr, const zt::flash::Problem& p, int b, int h, Walk walk, const PingPong& pp) {
        mbar_wait(ring.q_full, 0);
        KeyTile t = walk.first();
        if (!walk.valid(t)) return;  // no turns for either warpgroup
        const int hkv = h / p.group;
        const float rs = tr.row_scale(p, b, h, warp_row);
        pp.start();
        RingPos<kS> pos;
        float s[kBlockN / 2];
        uint32_t pa[kPv][4];
        float rescale[2];
        mbar_wait(&ring.k_full[pos.stage], pos.phase);
        pp.acquire();
        {
            Acc acc[kBlockN / 2];
            wgmma_fence();
            Tr::issue_s(acc, q_base, smem_u32(ring.k_tile(pos.stage)));
            wgmma_commit();
            pp.pass(false);
            wgmma_wait<0>();
            fence_regs(acc);
            softmax(s, walk.cta, t, tr.logits(s, acc, p, b, hkv, rs, t), rescale);  // O is zero: no rescale
        }
        owed[0] = owed[1] = 1.f;  // O is zero
        Tr::pack_p(pa, s);
        int prev = pos.stage;
        uint32_t prev_phase = pos.phase;
        pos.advance();
        for (t = walk.next(); walk.valid(t); t = walk.next()) {
            mbar_wait(&ring.k_full[pos.stage], pos.phase);
            mbar_wait(&ring.v_full[prev], prev_phase);
            pp.acquire();
            // The register operands' last writes (rescale_o's O, pack_p's P) must be issued
            // before wgmma.fence: volatile asm keeps this order, the "memory" clobber of the
            // fence alone does not (CUTLASS's warpgroup_fence_operand, FA3 likewise). The
            // accumulator is the tile's own (its first k-step overwrites it: scale-d 0), so no
            // value of it lives from one tile to the next.
            Acc acc[kBlockN / 2];
            float pv[kPvRegs];
            fence_regs(o);
            fence_pv(pv);
            fence_regs(pa);
            wgmma_fence();
            Tr::issue_s(acc, q_base, smem_u32(ring.k_tile(pos.stage)));
            wgmma_commit();
            issue_pv(pv, pa, smem_u32(ring.v_tile(prev)));
            wgmma_commit();
            pp.pass(false);
            wgmma_wait<1>();
            fence_regs(acc);
            softmax(s, walk.cta, t, tr.logits(s, acc, p, b, hkv, rs, t), rescale);
            wgmma_wait<0>();
            fence_regs(o);
            fence_pv(pv);
            finish_pv<true>(ring, prev, pv, pa, s, rescale);
            prev = pos.stage;
            prev_phase = pos.phase;
            pos.advance();
        }
        mbar_wait(&ring.v_full[prev], prev_phase);
        pp.acquire();
        float pv[kPvRegs];
        fence_regs(o);
        fence_pv(pv);
        fence_regs(pa);
        wgmma_fence();
        issue_pv(pv, pa, smem_u32(ring.v_tile(prev)));
        wgmma_commit();
        pp.pass(true);
        wgmma_wait<0>();
        fence_regs(o);
        fence_pv(pv);
        const float one[2] = {1.f, 1.f};
        finish_pv<false>(ring, prev, pv, pa, s, one);
    }
};

}  // namespace zt::hopper::attn90
