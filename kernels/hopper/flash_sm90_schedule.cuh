// flash_sm90_schedule.cuh: which key tiles a CTA of the sm_90a attention kernel visits, apart
// from the main loop that consumes them (FlashAttention-3's hopper/ keeps its tile scheduler apart
// the same way). A Keys type is the kernel's parameter (filled on the host); its Walk is built by
// every thread that walks the tiles: the producer's elected thread and each consumer thread walk
// their own copy of the same sequence, so the ring's stage/phase bookkeeping agrees without
// communication.
//
//   DenseKeys     every 128-key tile the mask may show some row of the CTA (zt_attention)
//   LutKeys<R>    the tiles of the key blocks a block map's LUT lists for the CTA's query block,
//                 ascending (zt_block_sparse_attention; R: SLA's f32 residual added to O)
//
// A tile is kBlockN = 128 keys as two halves of 64, each loaded by its own TMA box, so the halves
// need not be adjacent: a dense tile is keys [k, k + 128), a LUT tile pairs the next two selected
// 64-key chunks wherever they lie (a LUT block is block_k keys, a multiple of 64; TurboDiffusion's
// SLA uses 64). A 64-key block map thus fills whole tiles. (Visiting each selected block in its
// own 128-key tile, the other half masked, as this walk first did, spent up to half of the tensor
// and softmax work on masked keys.) Only the walk's last tile may have one half, the other empty
// (kNoHalf: masked; flash_sm90_traits.cuh's half_row says what it holds).
#pragma once

#include "attention/flash_common.cuh"
#include "hopper/flash_sm90_policy.h"

namespace zt::hopper::attn90 {

// One visited tile: keys [key[h], key[h] + 64) in half h (columns 64h..64h + 63 of S, rows of V),
// or none when key[h] is kNoHalf. Keys fit int32 (zt_attention's kv_len is int32).
constexpr int kHalfKeys = kBlockN / 2;
constexpr int kNoHalf = -1;
struct KeyTile {
    int key[2];
};

// What the mask lets the CTA's rows see, reduced once to key bounds (keys fit int32): the walks
// and the consumers' per-tile checks compare and never divide (the block-causal mask's int64
// divisions inside the main loop cost the LUT walk ~700 bytes of spills).
struct CtaKeys {
    int k_end;           // no row sees a key at or past it
    int win_lo, sink;    // block-causal window: a tile ending by win_lo is seen only below sink
    int full_lo, full_hi, sink_hi;

    __device__ CtaKeys(const zt::flash::Problem& prob, int64_t m0) {
        const zt::flash::Mask& mask = prob.mask;
        const int64_t pos0 = m0 + prob.q_offset;
        const int64_t last = (m0 + kBlockM < prob.q_len ? m0 + kBlockM : prob.q_len) - 1;
        const int64_t pos1 = last + prob.q_offset;
        k_end = (int)mask.key_end(pos1, prob.kv_len);
        zt::flash::KeyRange first = mask.keys_of(pos0, prob.kv_len), lastr = mask.keys_of(pos1, prob.kv_len);
        // Mask::tile_may_be_visible with pos0 fixed: the window's start and the sinks' end (both 0
        // without a window: may_see is then k0 < k_end).
        win_lo = (int)(first.lo < 0 ? 0 : first.lo);
        sink = (int)(first.sink_end < prob.kv_len ? first.sink_end : prob.kv_len);
        // Tiles with k0 in [full_lo, full_hi - kBlockN], or ending by sink_hi, are seen whole by
        // every row of the CTA (rows past q_len are never stored).
        full_lo = (int)(lastr.lo < 0 ? 0 : lastr.lo);
        full_hi = (int)(first.hi < 0 ? 0 : first.hi);
        int64_t se = lastr.sink_end < first.hi ? lastr.sink_end : first.hi;
        sink_hi = (int)(se < 0 ? 0 : se);
    }
    // Conservative, as Mask::tile_may_be_visible: false only when no row sees a key in [k0, k1).
    __device__ __forceinline__ bool may_see(int k0, int k1) const { return k0 < k_end && (k0 < sink || k1 > win_lo); }
    // Every row of the CTA sees every key of the tile (both halves): no per-element mask.
    __device__ __forceinline__ bool whole_half(int k) const {
        return k != kNoHalf && ((k >= full_lo && k + kHalfKeys <= full_hi) || k + kHalfKeys <= sink_hi);
    }
    __device__ __forceinline__ bool whole(const KeyTile& t) const { return whole_half(t.key[0]) && whole_half(t.key[1]); }
};

struct DenseKeys {
    static constexpr bool kResidual = false;
    const float* residual = nullptr;

    struct Walk {
        CtaKeys cta;
        int k;
        __device__ Walk(const DenseKeys&, const zt::flash::Problem& p, int, int, int64_t m0) : cta(p, m0), k(-kBlockN) {}
        __device__ __forceinline__ KeyTile next() {
            k += kBlockN;
            while (k < cta.k_end && !cta.may_see(k, k + kBlockN)) k += kBlockN;
            return KeyTile{{k, k + kHalfKeys < cta.k_end ? k + kHalfKeys : kNoHalf}};  // no row sees a key past k_end
        }
        __device__ __forceinline__ KeyTile first() { return next(); }
        __device__ __forceinline__ bool valid(const KeyTile& t) const { return t.key[0] < cta.k_end; }
    };
};

// lut [B, H, q_blocks, k_blocks] int32 (the first counts[b, h, qb] entries of a row are the
// selected key blocks, ascending), counts [B, H, q_blocks]; block_q a multiple of kBlockM so a
// CTA's rows lie in one query block (attention_sm90_sparse_eligible).
template <bool Residual>
struct LutKeys {
    static constexpr bool kResidual = Residual;
    const float* residual;  // [as O] f32, added to O before rounding (SLA); null without
    const int32_t* lut;
    const int32_t* counts;
    int q_blocks, k_blocks, block_q, block_k;

    struct Walk {
        CtaKeys cta;
        const int32_t* row;
        int entries, per_block;  // LUT entries of the row; 64-key chunks per block
        int e = 0, c = 0;        // the next chunk: chunk c of entry e
        int done_below = 0;      // chunks below it were visited: a repeated or descending entry is skipped, as the mma.sync kernel's LutTiles does

        __device__ Walk(const LutKeys& keys, const zt::flash::Problem& p, int b, int h, int64_t m0) : cta(p, m0) {
            const int64_t r = ((int64_t)b * p.heads + h) * keys.q_blocks + m0 / keys.block_q;
            row = keys.lut + r * keys.k_blocks;
            entries = keys.counts[r];
            per_block = keys.block_k / kHalfKeys;
        }
        // The next selected chunk some row of the CTA may see, or kNoHalf. The LUT is ascending, so
        // the first chunk at or past the mask's key end ends the walk.
        __device__ __forceinline__ int chunk() {
            while (e < entries) {
                const int k = (row[e] * per_block + c) * kHalfKeys;
                if (++c == per_block) c = 0, ++e;
                if (k < done_below) continue;
                if (k >= cta.k_end) break;
                done_below = k + kHalfKeys;
                if (cta.may_see(k, k + kHalfKeys)) return k;
            }
            e = entries;
            return kNoHalf;
        }
        // The next two selected chunks, as one tile (the second kNoHalf once the walk runs out).
        __device__ __forceinline__ KeyTile next() {
            KeyTile t{{chunk(), kNoHalf}};
            if (t.key[0] != kNoHalf) t.key[1] = chunk();
            return t;
        }
        __device__ __forceinline__ KeyTile first() { return next(); }
        __device__ __forceinline__ bool valid(const KeyTile& t) const { return t.key[0] != kNoHalf; }
    };
};

}  // namespace zt::hopper::attn90
