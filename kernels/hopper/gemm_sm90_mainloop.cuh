// gemm_sm90_mainloop.cuh: the warp-specialized mainloop of the sm_90a GEMMs: a TMA producer and
// wgmma consumers around a kStages ring of shared-memory stages (gemm_sm90_policy.h).
//
//   full[s]   count 1: the producer's arrive.expect_tx(32 KiB); completes when both TMA boxes
//             of stage s have landed (complete_tx pays the bytes)
//   empty[s]  count 8 (the consumer warps): each warp's lane 0 arrives once the wgmmas that read
//             stage s have completed (wgmma.wait_group), so the producer may overwrite it
// Both sides walk the same sequence (tiles of the scheduler x K tiles), so a stage's use count
// gives its phase: use u of stage s waits for full phase u & 1, and the producer's use u >= 1
// waits for empty phase (u - 1) & 1 (its first kStages fills need no wait).
//
// A consumer keeps two K tiles of wgmma in flight: it commits tile kt's 4 wgmmas, waits until at
// most one group is pending (tile kt - 1 done) and frees tile kt - 1's stage.
#pragma once

#include "hopper/gemm_sm90_policy.h"
#include "hopper/gemm_sm90_scheduler.cuh"
#include "hopper/sm90.cuh"

namespace zt::hopper::gemm90 {

// The CTA's dynamic shared memory: the ring (A stages, then B stages), 1024-byte aligned for the
// swizzle, then the barriers.
struct Ring {
    char* a;  // kStages x [128 rows x 128 bytes]
    char* b;
    uint64_t* full;
    uint64_t* empty;

    __device__ explicit Ring(char* raw) {
        char* base = align_shared(raw, kAlign);
        a = base;
        b = base + kStages * kTileBytes;
        full = reinterpret_cast<uint64_t*>(base + kRingBytes);
        empty = full + kStages;
    }

    // One thread, before the CTA's first barrier sync.
    __device__ void init() const {
        for (int s = 0; s < kStages; ++s) {
            mbar_init(&full[s], 1);
            mbar_init(&empty[s], 4 * kConsumers);
        }
        fence_proxy_async();  // the initialized barriers visible to TMA's complete_tx
    }
};

// The position in the ring: stage and the parity of its current use.
struct RingPos {
    int stage = 0;
    uint32_t phase = 0;
    uint32_t uses_done = 0;  // the producer skips the empty wait for the first kStages fills
    __device__ void advance() {
        if (++stage == kStages) stage = 0, phase ^= 1, uses_done = 1;
    }
};

// Producer: one thread (an elected lane of the producer warp). a_map: x [m, k], b_map: W [n, k],
// boxes of 128 rows x 128 bytes; k_tiles = ceil(k bytes / 128).
__device__ __forceinline__ void produce(const Ring& ring, const CUtensorMap* a_map, const CUtensorMap* b_map, const TileScheduler& sched, int64_t k_tiles,
                                        int k_per_tile) {
    RingPos pos;
    for (int64_t t = sched.first(); sched.valid(t); t = sched.next(t)) {
        const int32_t m0 = (int32_t)sched.m0(t), n0 = (int32_t)sched.n0(t);
        for (int64_t kt = 0; kt < k_tiles; ++kt) {
            if (pos.uses_done) mbar_wait(&ring.empty[pos.stage], pos.phase ^ 1);
            mbar_arrive_expect_tx(&ring.full[pos.stage], kStageBytes);
            const int32_t k0 = (int32_t)(kt * k_per_tile);
            tma_load_2d(ring.a + pos.stage * kTileBytes, a_map, &ring.full[pos.stage], k0, m0);
            tma_load_2d(ring.b + pos.stage * kTileBytes, b_map, &ring.full[pos.stage], k0, n0);
            pos.advance();
        }
    }
}

// Consumer warpgroup wg (0 or 1): acc = its 64 rows of the tile, A[64 x K] B[128 x K]^T, over
// k_tiles stages from pos on. Op: Wgmma<operand type>.
template <typename Op, typename Acc>
__device__ __forceinline__ void consume(const Ring& ring, RingPos& pos, int64_t k_tiles, int wg, Acc (&acc)[kAccRegs]) {
#pragma unroll
    for (int i = 0; i < kAccRegs; ++i) acc[i] = 0;
    fence_regs(acc);  // the zeros are written before wgmma.fence, which orders them before the wgmmas
    const bool releaser = (threadIdx.x & 31) == 0;
    int prev = -1;
    for (int64_t kt = 0; kt < k_tiles; ++kt) {
        mbar_wait(&ring.full[pos.stage], pos.phase);
        const uint32_t a = smem_u32(ring.a + pos.stage * kTileBytes + wg * kWgRows * kBlockKBytes);
        const uint32_t b = smem_u32(ring.b + pos.stage * kTileBytes);
        wgmma_fence();
#pragma unroll
        for (int s = 0; s < kBlockKBytes / kStepBytes; ++s) Op::m64n128(acc, desc_k128b(a + s * kStepBytes), desc_k128b(b + s * kStepBytes), 1);
        wgmma_commit();
        wgmma_wait<1>();  // tile kt - 1's wgmmas are done: its stage may be refilled
        fence_regs(acc);
        if (prev >= 0 && releaser) mbar_arrive(&ring.empty[prev]);
        prev = pos.stage;
        pos.advance();
    }
    wgmma_wait<0>();
    fence_regs(acc);
    if (prev >= 0 && releaser) mbar_arrive(&ring.empty[prev]);
}

}  // namespace zt::hopper::gemm90
