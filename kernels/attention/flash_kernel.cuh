// flash_kernel.cuh: the flash-attention main loop on sm_80+ tensor cores, shared by attention.cu
// (f16/bf16 Q, K, V), sage_attention.cu (INT8 Q, K) and the block-sparse kernels. A Traits type
// supplies what differs: the Q/K element, the V tile (how it reaches shared memory, and the P.V
// MMAs over it), the factor on the raw scores (per tile, or per tile row and key column when the
// Traits has kKeyScales: Sage with a K scale per key), the epilogue's per-channel scale, the LSE shift.
//
// CTA = kW warps x kMTiles m16 row tiles (8 x 16 = 128 query rows, or 4 x 16 for a LUT of 64-row blocks) of one
// (batch, head); key tiles of 64 in kStages<D> cp.async buffers:
//   prologue  Q tile and the first kStages - 1 K/V tiles (cp.async, one group each)
//   per tile  wait for the tile, one barrier, refill the stage the last tile used;
//             S = Q K^T        m16n8k16 f16/bf16 or m16n8k32 s8; one ldmatrix.x4 of K = two
//                              k-steps (each fragment feeds the warp's kMTiles row tiles)
//             mask only on tiles the CTA's rows do not all see whole (per-row key bounds, no
//             per-element division); online softmax with the factor folded into the exp2's FMA
//             O = O * rescale + P V   (the Traits' pv: V fragments by ldmatrix.x4)
//   epilogue  O / l (x the per-channel scale) through shared memory, 16-byte coalesced stores;
//             LSE = ln 2 (m + log2 l) + shift
// Which key tiles a CTA visits, and an optional f32 residual added to O before rounding, are a
// Keys schedule: AllTiles (every tile the mask may show) or LutTiles (a block map's LUT, SLA).
// Fragment layouts: kernels/gemm/mma_sm80.cuh. Shared tiles are swizzled (flash_common.cuh's swz).
#pragma once

#include <stdio.h>

#include <type_traits>

#include "attention/flash_common.cuh"
#include "gemm/mma_sm80.cuh"

namespace zt::flash {

template <typename T> __device__ __forceinline__ void mma16(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]);
template <> __device__ __forceinline__ void mma16<__half>(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) { zt::gemm::mma_f16(c, a, b); }
template <> __device__ __forceinline__ void mma16<__nv_bfloat16>(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) { zt::gemm::mma_bf16(c, a, b); }

template <typename Tr, int D, int kW>
struct FlashSmem {
    using QK = typename Tr::QK;
    static constexpr int kRows = 16 * kMTiles * kW;
    static constexpr int kQkRow = D * (int)sizeof(QK);  // bytes per Q/K row
    static constexpr int kQBytes = kRows * kQkRow;
    static constexpr int kKBytes = kBlockN * kQkRow;
    static constexpr int kVBytes = Tr::template kVTileBytes<D>;
    static constexpr int kLoop = kQBytes + kStages<D> * (kKBytes + kVBytes);
    static constexpr int kOut = kRows * D * (int)sizeof(typename Tr::Out);  // the epilogue's O tile
    static constexpr int kBytes = kLoop > kOut ? kLoop : kOut;
};

// Rows [row0, row0 + rows) of a strided Q, K or V into a swizzled shared tile, 16-byte chunks, zero past `limit`.
template <typename E, int D>
__device__ __forceinline__ void stage_rows(char* smem, const E* base, const Strides& st, int64_t b, int64_t h, int64_t row0, int rows, int64_t limit) {
    constexpr int kRow = D * (int)sizeof(E), kChunks = kRow / 16;
    for (int i = threadIdx.x; i < rows * kChunks; i += blockDim.x) {
        int r = i / kChunks, c = i % kChunks;
        bool ok = row0 + r < limit;
        const char* src = reinterpret_cast<const char*>(base + (ok ? st.of(b, h, row0 + r) : 0)) + c * 16;
        cp_async16(smem + swz<kRow>(r, c), src, ok);
    }
}

// O += P V for a 64-key tile of V stored raw as E (f16 or bf16; rows = keys, swizzled), P rounded
// to E: the C fragments of key n-tiles 2kk, 2kk + 1 are the A fragment of k-chunk kk (no shared
// round trip); ldmatrix.x4.trans gives the B fragments of two channel n-tiles.
template <typename E, int D, int kMT>
__device__ __forceinline__ void pv_b16(float (&o)[kMT][D / 8][4], const float (&s)[kMT][kBlockN / 8][4], const char* vt) {
    constexpr int kRow = D * 2;
    const int lane = threadIdx.x & 31;
#pragma unroll
    for (int kk = 0; kk < kBlockN / 16; ++kk) {
        uint32_t pa[kMT][4];
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
            pa[mt][0] = pack2<E>(s[mt][2 * kk][0], s[mt][2 * kk][1]);
            pa[mt][1] = pack2<E>(s[mt][2 * kk][2], s[mt][2 * kk][3]);
            pa[mt][2] = pack2<E>(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
            pa[mt][3] = pack2<E>(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
        }
#pragma unroll
        for (int n2 = 0; n2 < D / 16; ++n2) {
            uint32_t vb[4];
            ldsm_x4_trans(vb, vt + swz<kRow>(kk * 16 + ((lane >> 3) & 1) * 8 + (lane & 7), 2 * n2 + (lane >> 4)));
            const uint32_t b0[2] = {vb[0], vb[1]}, b1[2] = {vb[2], vb[3]};
#pragma unroll
            for (int mt = 0; mt < kMT; ++mt) {
                mma16<E>(o[mt][2 * n2], pa[mt], b0);
                mma16<E>(o[mt][2 * n2 + 1], pa[mt], b1);
            }
        }
    }
}

// Every key tile the mask may show.
struct AllTiles {
    static constexpr bool kResidual = false;
    const float* residual = nullptr;
    __device__ __forceinline__ void begin(const Problem&, int, int, int64_t) {}
    __device__ __forceinline__ int64_t next(const Problem& p, int64_t k0, int64_t pos0, int64_t pos1, int64_t k_end) {
        while (k0 < k_end && !p.mask.tile_may_be_visible(pos0, pos1, k0, k0 + kBlockN, p.kv_len)) k0 += kBlockN;
        return k0;
    }
};

// The key tiles of the blocks a LUT lists for the CTA's query block (ascending), in key blocks of
// block_k (a multiple of kBlockN); the CTA's rows never straddle query blocks (launch_sparse picks
// 64- or 128-row CTAs so that block_q is a multiple).
template <bool Residual>
struct LutTiles {
    static constexpr bool kResidual = Residual;
    const int32_t* lut;
    const int32_t* counts;
    const float* residual;
    int q_blocks, k_blocks, block_q, block_k;
    const int32_t* row_lut;
    int tiles, idx;

    __device__ __forceinline__ void begin(const Problem& p, int b, int h, int64_t m0) {
        int64_t row = ((int64_t)b * p.heads + h) * q_blocks + m0 / block_q;
        row_lut = lut + row * k_blocks;
        tiles = counts[row] * (block_k / kBlockN);
        idx = 0;
    }
    __device__ __forceinline__ int64_t next(const Problem& p, int64_t k_from, int64_t pos0, int64_t pos1, int64_t k_end) {
        const int per = block_k / kBlockN;
        for (; idx < tiles; ++idx) {
            int64_t k0 = (int64_t)row_lut[idx / per] * block_k + (int64_t)(idx % per) * kBlockN;
            if (k0 < k_from) continue;
            if (k0 >= k_end) break;
            if (p.mask.tile_may_be_visible(pos0, pos1, k0, k0 + kBlockN, p.kv_len)) return k0;
        }
        return k_end;
    }
};

// Whether a Traits scales each key column (kKeyScales = true: key_scales<D> gives lane t's
// columns' factors from the staged tile); Traits without the member scale per tile only.
template <typename Tr, typename = void>
struct KeyScaled : std::false_type {};
template <typename Tr>
struct KeyScaled<Tr, std::void_t<decltype(Tr::kKeyScales)>> : std::integral_constant<bool, Tr::kKeyScales> {};

// zt:hot flash_kernel  (on the streaming path: dense, Sage and block-sparse attention; a spill fails CI)
template <typename Tr, int D, int kW, typename Keys>
__global__ void __launch_bounds__(32 * kW, kMinBlocksPerSm) flash_kernel(Problem p, Tr tr, Keys keys) {
    using QK = typename Tr::QK;
    using Out = typename Tr::Out;
    using Sm = FlashSmem<Tr, D, kW>;
    constexpr int kMT = kMTiles;
    static_assert(sizeof(Out) == 2, "the epilogue packs two 16-bit outputs per word");
    constexpr int kS = kStages<D>;
    constexpr int kRows = Sm::kRows, kQkRow = Sm::kQkRow;
    constexpr int kKSteps = Tr::kInt8 ? D / 32 : D / 16;  // MMA k-steps of S over the head dim (even)
    constexpr int kDTiles = D / 8;                         // n8 tiles of O
    constexpr int kNTiles = kBlockN / 8;                   // n8 tiles of S
    // Q fragments stay in registers when they are at most 32 per thread (every variant with one m16
    // row tile per warp, D = 128 included); more row tiles per warp would re-read them per k-step.
    constexpr bool kQInRegs = kMT * kKSteps * 4 <= 32;
    extern __shared__ __align__(128) char smem[];
    char* qs = smem;
    char* ks = smem + Sm::kQBytes;
    char* vs = ks + kS * Sm::kKBytes;

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int b = blockIdx.z, h = blockIdx.y, hkv = h / p.group;
    const int64_t m0 = (int64_t)blockIdx.x * kRows;
    const int wr0 = warp * 16 * kMT;     // this warp's first row in the CTA tile
    const int64_t wm0 = m0 + wr0;        // and in the problem
    const int64_t pos0 = m0 + p.q_offset;
    const int64_t last = (m0 + kRows < p.q_len ? m0 + kRows : p.q_len) - 1;
    const int64_t pos1 = last + p.q_offset;
    const int64_t k_end = p.mask.key_end(pos1, p.kv_len);
    // Tiles with k0 in [full_lo, full_hi - 64], or ending by sink_hi, are seen whole by every row of
    // the CTA (rows past q_len are never stored): no per-element mask there. Keys fit in int32.
    int full_lo, full_hi, sink_hi;
    {
        KeyRange first = p.mask.keys_of(pos0, p.kv_len), lastr = p.mask.keys_of(pos1, p.kv_len);
        full_lo = (int)(lastr.lo < 0 ? 0 : lastr.lo);
        full_hi = (int)(first.hi < 0 ? 0 : first.hi);
        int64_t se = lastr.sink_end < first.hi ? lastr.sink_end : first.hi;
        sink_hi = (int)(se < 0 ? 0 : se);
    }
    keys.begin(p, b, h, m0);
    auto next_tile = [&](int64_t k0) { return keys.next(p, k0, pos0, pos1, k_end); };
    auto load_kv = [&](int stage, int64_t k0) {
        stage_rows<QK, D>(ks + stage * Sm::kKBytes, tr.k, p.kv, b, hkv, k0, kBlockN, p.kv_len);
        tr.template stage_v<D>(vs + stage * Sm::kVBytes, p, b, hkv, k0);
    };
    auto load_q = [&](uint32_t (&r)[4], int mt, int kk) {
        ldsm_x4(r, qs + swz<kQkRow>(wr0 + mt * 16 + (lane & 7) + ((lane >> 3) & 1) * 8, 2 * kk + (lane >> 4)));
    };

    // Prologue: Q with the first tile, then kS - 2 more tiles; ring[s] is the tile in stage (cur + s) % kS.
    stage_rows<QK, D>(qs, tr.q, p.q, b, h, m0, kRows, p.q_len);
    int64_t ring[kS];
#pragma unroll
    for (int s = 0; s < kS - 1; ++s) {
        ring[s] = s == 0 ? next_tile(0) : (ring[s - 1] < k_end ? next_tile(ring[s - 1] + kBlockN) : k_end);
        if (ring[s] < k_end) load_kv(s, ring[s]);
        cp_async_commit();
    }

    float o[kMT][kDTiles][4] = {};
    float row_max[kMT][2], row_sum[kMT][2];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int i = 0; i < 2; ++i) row_max[mt][i] = -INFINITY, row_sum[mt][i] = 0.f;
    uint32_t qa[kQInRegs ? kMT : 1][kQInRegs ? kKSteps : 1][4];
    bool q_loaded = false;
    int cur = 0;
    while (ring[0] < k_end) {
        cp_async_wait<kS - 2>();
        __syncthreads();  // the tile has landed for every thread, and every warp is done with the stage refilled below
        {
            const int64_t kn = ring[kS - 2] < k_end ? next_tile(ring[kS - 2] + kBlockN) : k_end;
            if (kn < k_end) load_kv(cur == 0 ? kS - 1 : cur - 1, kn);
            cp_async_commit();
            ring[kS - 1] = kn;
        }
        if constexpr (kQInRegs) {
            if (!q_loaded) {
#pragma unroll
                for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
                    for (int kk = 0; kk < kKSteps; ++kk) load_q(qa[mt][kk], mt, kk);
                q_loaded = true;
            }
        }
        const int64_t k0 = ring[0];

        // S = Q K^T for the warp's 16 kMT rows x 64 keys; one ldmatrix.x4 of K = two k-steps of one n-tile.
        const char* kt = ks + cur * Sm::kKBytes;
        float s[kMT][kNTiles][4];
        {
            using Acc = std::conditional_t<Tr::kInt8, int, float>;
            Acc acc[kMT][kNTiles][4];
#pragma unroll
            for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
                for (int j = 0; j < kNTiles; ++j)
#pragma unroll
                    for (int e = 0; e < 4; ++e) acc[mt][j][e] = 0;
#pragma unroll
            for (int k2 = 0; k2 < kKSteps / 2; ++k2) {
                uint32_t qf[kMT][2][4];
#pragma unroll
                for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
                    for (int u = 0; u < 2; ++u) {
                        if constexpr (kQInRegs) {
#pragma unroll
                            for (int r = 0; r < 4; ++r) qf[mt][u][r] = qa[mt][2 * k2 + u][r];
                        } else {
                            load_q(qf[mt][u], mt, 2 * k2 + u);
                        }
                    }
#pragma unroll
                for (int j = 0; j < kNTiles; ++j) {
                    uint32_t kb[4];
                    ldsm_x4(kb, kt + swz<kQkRow>(j * 8 + (lane & 7), 4 * k2 + (lane >> 3)));
                    const uint32_t b0[2] = {kb[0], kb[1]}, b1[2] = {kb[2], kb[3]};
#pragma unroll
                    for (int mt = 0; mt < kMT; ++mt) {
                        if constexpr (Tr::kInt8) {
                            zt::gemm::mma_s8(acc[mt][j], qf[mt][0], b0);
                            zt::gemm::mma_s8(acc[mt][j], qf[mt][1], b1);
                        } else {
                            mma16<QK>(acc[mt][j], qf[mt][0], b0);
                            mma16<QK>(acc[mt][j], qf[mt][1], b1);
                        }
                    }
                }
            }
#pragma unroll
            for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
                for (int j = 0; j < kNTiles; ++j)
#pragma unroll
                    for (int e = 0; e < 4; ++e) s[mt][j][e] = (float)acc[mt][j][e];
        }

        // Mask a boundary tile: each row's key bounds once, then comparisons (masked: -inf).
        const bool whole = ((int)k0 >= full_lo && (int)k0 + kBlockN <= full_hi) || (int)k0 + kBlockN <= sink_hi;
        if (!whole) {
#pragma unroll
            for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
                for (int i = 0; i < 2; ++i) {
                    const KeyRange r = p.mask.keys_of(wm0 + mt * 16 + g + 8 * i + p.q_offset, p.kv_len);
#pragma unroll
                    for (int j = 0; j < kNTiles; ++j)
#pragma unroll
                        for (int e = 0; e < 2; ++e)
                            if (!r.has(k0 + j * 8 + 2 * t + e)) s[mt][j][2 * i + e] = -INFINITY;
                }
        }

        // Online softmax on base-2 logits s * factor (factor > 0): the running max in scaled units,
        // P = exp2(s * factor - max) as one FMA into the exp2. Per-key factors (kPerKey): factor =
        // f * k_scale[column], the max taken over the scaled scores; with every key's scale equal
        // to its tile's, the same fp32 products as f * k_scale[tile] (rounding is monotonic, so
        // the max of the products is the product of the max): the per-tile result bit for bit.
        constexpr bool kPerKey = KeyScaled<Tr>::value;
        float kc[kPerKey ? kNTiles : 1][2];
        if constexpr (kPerKey) tr.template key_scales<D>(kc, vs + cur * Sm::kVBytes);
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
            const float f = tr.score_factor(p, b, h, hkv, wm0 + mt * 16, k0);
            float mx[2] = {-INFINITY, -INFINITY};
            // A masked -inf times a zero scale is NaN, which fmaxf skips; exp2 below never sees it.
#pragma unroll
            for (int j = 0; j < kNTiles; ++j)
#pragma unroll
                for (int e = 0; e < 4; ++e) mx[e >> 1] = fmaxf(mx[e >> 1], kPerKey ? s[mt][j][e] * (f * kc[kPerKey ? j : 0][e & 1]) : s[mt][j][e]);
            float rescale[2], neg_max[2];
#pragma unroll
            for (int i = 0; i < 2; ++i) {
                mx[i] = quad_max(mx[i]);
                float m_new = fmaxf(row_max[mt][i], mx[i] == -INFINITY ? -INFINITY : kPerKey ? mx[i] : mx[i] * f);
                rescale[i] = m_new == -INFINITY ? 1.f : exp2f(row_max[mt][i] - m_new);
                neg_max[i] = m_new == -INFINITY ? 0.f : -m_new;
                row_max[mt][i] = m_new;
                row_sum[mt][i] *= rescale[i];
            }
#pragma unroll
            for (int j = 0; j < kNTiles; ++j)
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    const float fe = kPerKey ? f * kc[kPerKey ? j : 0][e & 1] : f;
                    float pe = s[mt][j][e] == -INFINITY ? 0.f : exp2f(fmaf(s[mt][j][e], fe, neg_max[e >> 1]));
                    row_sum[mt][e >> 1] += pe;  // lane-partial; the quad is summed in the epilogue
                    s[mt][j][e] = pe;
                }
#pragma unroll
            for (int n = 0; n < kDTiles; ++n)
#pragma unroll
                for (int e = 0; e < 4; ++e) o[mt][n][e] *= rescale[e >> 1];
        }

        // O += P V (the Traits' operand precision).
        tr.template pv<D, kMT>(o, s, vs + cur * Sm::kVBytes);

#pragma unroll
        for (int u = 0; u < kS - 1; ++u) ring[u] = ring[u + 1];
        cur = cur + 1 == kS ? 0 : cur + 1;
    }
    cp_async_wait<0>();

    // Epilogue: the LSE (its shift is a quad-parallel dot product), then O through shared memory.
    float inv[kMT][2];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int i = 0; i < 2; ++i) {
            const int64_t row = wm0 + mt * 16 + g + i * 8;
            row_sum[mt][i] = quad_sum(row_sum[mt][i]);
            inv[mt][i] = row_sum[mt][i] > 0.f ? 1.f / row_sum[mt][i] : 0.f;
            if (p.write_lse) {
                const float shift = quad_sum(tr.lse_shift_part(p, b, h, hkv, row, t));
                if (t == 0 && row < p.q_len)
                    tr.lse[((int64_t)b * p.heads + h) * p.q_len + row] =
                        row_sum[mt][i] > 0.f ? 0.69314718056f * (row_max[mt][i] + log2f(row_sum[mt][i])) + shift : -INFINITY;
            }
        }
    __syncthreads();  // every warp is done with the K/V stages the O tile overwrites
    constexpr int kORow = D * 2, kOChunks = kORow / 16;
    char* os = smem;
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int i = 0; i < 2; ++i) {
            const int rl = wr0 + mt * 16 + g + i * 8;
            const int64_t row = m0 + rl;
            const int64_t at = row < p.q_len ? p.q.of(b, h, row) : 0;
#pragma unroll
            for (int n = 0; n < kDTiles; ++n) {
                const int col = n * 8 + 2 * t;
                float v0 = o[mt][n][2 * i] * tr.out_scale(p, b, hkv, col) * inv[mt][i];
                float v1 = o[mt][n][2 * i + 1] * tr.out_scale(p, b, hkv, col + 1) * inv[mt][i];
                if constexpr (Keys::kResidual) {
                    if (row < p.q_len) {
                        const float2 r = *reinterpret_cast<const float2*>(keys.residual + at + col);
                        v0 += r.x;
                        v1 += r.y;
                    }
                }
                *reinterpret_cast<uint32_t*>(os + swz<kORow>(rl, n) + 4 * t) = pack2<Out>(v0, v1);
            }
        }
    __syncthreads();  // the O tile is complete (a block barrier; __syncwarp would do, now that the emulator runs bar.warp.sync)
    for (int i = lane; i < 16 * kMT * kOChunks; i += 32) {
        const int r = i / kOChunks, c = i % kOChunks;
        const int64_t row = wm0 + r;
        if (row < p.q_len)
            *reinterpret_cast<uint4*>(tr.o + p.q.of(b, h, row) + c * 8) = *reinterpret_cast<const uint4*>(os + swz<kORow>(wr0 + r, c));
    }
}

// Host side: the problem from the C ABI's scalars, and the launch (dynamic shared memory above 48 KB is opted into).
inline Problem make_problem(int batch, int heads, int kv_heads, int q_len, int kv_len, int head_dim, int layout, int mask_kind, int block, int window,
                            int sinks, int write_lse) {
    Problem p{};
    p.batch = batch; p.heads = heads; p.kv_heads = kv_heads; p.q_len = q_len; p.kv_len = kv_len; p.head_dim = head_dim;
    p.group = heads / kv_heads; p.write_lse = write_lse; p.q_offset = (int64_t)kv_len - q_len;
    p.q = Strides::contiguous(layout, heads, q_len, head_dim);
    p.kv = Strides::contiguous(layout, kv_heads, kv_len, head_dim);
    p.mask = Mask{mask_kind, block, window, sinks};
    return p;
}

template <typename Tr, int D, int kW, typename Keys>
zt_status launch_flash_rows(const Problem& p, const Tr& tr, cudaStream_t stream, const char* name, const Keys& keys) {
    constexpr int bytes = FlashSmem<Tr, D, kW>::kBytes;
    constexpr int rows = FlashSmem<Tr, D, kW>::kRows;
    zt_status st = zt::allow_dynamic_smem(flash_kernel<Tr, D, kW, Keys>, bytes, name);
    if (st != ZT_OK) return st;
    dim3 grid((unsigned)((p.q_len + rows - 1) / rows), (unsigned)p.heads, (unsigned)p.batch);
    flash_kernel<Tr, D, kW, Keys><<<grid, 32 * kW, bytes, stream>>>(p, tr, keys);
    return zt::check_launch(name);
}

template <typename Tr, int D, typename Keys = AllTiles>
zt_status launch_flash(const Problem& p, const Tr& tr, cudaStream_t stream, const char* name, const Keys& keys = Keys{}) {
    return launch_flash_rows<Tr, D, kWarps, Keys>(p, tr, stream, name, keys);
}

// Argument checks every flash export shares.
inline zt_status check_problem(const char* name, int batch, int heads, int kv_heads, int q_len, int kv_len, int head_dim, int layout, int mask_kind,
                               int block) {
    if (batch < 0 || q_len < 0 || kv_len < 0 || heads <= 0 || kv_heads <= 0 || heads % kv_heads != 0)
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, name);
    if (head_dim != 64 && head_dim != 128) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "flash attention: head_dim must be 64 or 128");
    if (layout != 0 && layout != 1) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "flash attention: layout must be 0 (HND) or 1 (NHD)");
    if (mask_kind < 0 || mask_kind > 2 || (mask_kind == 2 && block <= 0))
        return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "flash attention: mask_kind 0..2, block-causal needs block_tokens > 0");
    if (heads > 65535 || batch > 65535) return zt::fail(ZT_ERROR_INVALID_ARGUMENT, "flash attention: heads and batch must fit a grid dimension");
    return ZT_OK;
}

// The kernels move q, k, v and o in 16-byte chunks (cp.async, vector stores): a view that starts
// off a 16-byte boundary (a tensor sliced at an element offset) would be a misaligned access, a
// sticky error on a GPU. Refused before anything is launched, naming the tensor.
struct Operand {
    const char* name;
    const void* ptr;
};
inline zt_status check_aligned(const char* op, std::initializer_list<Operand> operands) {
    for (const Operand& x : operands) {
        if (x.ptr && reinterpret_cast<uintptr_t>(x.ptr) % 16 != 0) {
            char msg[256];
            snprintf(msg, sizeof(msg), "%s: %s is not 16-byte aligned (address %% 16 = %d; a view at an element offset?): the kernel loads it in 16-byte chunks",
                     op, x.name, (int)(reinterpret_cast<uintptr_t>(x.ptr) % 16));
            return zt::fail(ZT_ERROR_INVALID_ARGUMENT, msg);
        }
    }
    return ZT_OK;
}

}  // namespace zt::flash
