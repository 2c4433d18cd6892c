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
// How a consumer sums K is the policy's KSum (gemm_sm90_policy.h):
//   kWhole     two K tiles of wgmma in flight: it commits tile kt's 4 wgmmas into the accumulator,
//              waits until at most one group is pending (tile kt - 1 done) and frees tile kt - 1's
//              stage.
//   kPromoted, kPromotedScaled  every stage's 4 wgmmas go into a fresh partial (scale-d 0 on the
//              first), the consumer waits for all of them (wait_group 0), frees the stage at once
//              and adds the partial into its fp32 accumulator (scaled by the stage's block scales
//              for kPromotedScaled). Waiting for the group to drain is DeepGEMM's choice: the
//              other consumer warpgroup's wgmmas and the producer's TMA loads into the other
//              stages keep the SM busy meanwhile. Two partials alternating (one stage in flight
//              while the previous is added) would take 3 x 64 accumulator registers; with the
//              addresses and the loop state that comes too close to the 232 the consumers get
//              (setmaxnreg) to stay spill-free, so one partial it is: 2 x 64.
#pragma once

#include <type_traits>

#include "hopper/gemm_sm90_policy.h"
#include "hopper/gemm_sm90_scheduler.cuh"
#include "hopper/sm90.cuh"

namespace zt::hopper::gemm90 {

// The CTA's dynamic shared memory: the ring (A stages, then B stages), 1024-byte aligned for the
// swizzle, then the barriers, then the epilogue's output tile (gemm_sm90_policy.h).
struct Ring {
    char* a;  // kStages x [128 rows x 128 bytes]
    char* b;
    uint64_t* full;
    uint64_t* empty;
    char* out;  // kConsumers x kOutWgBytes<TOut>, 128-byte aligned: only the epilogue touches it

    __device__ explicit Ring(char* raw) {
        char* base = align_shared(raw, kAlign);
        a = base;
        b = base + kStages * kTileBytes;
        full = reinterpret_cast<uint64_t*>(base + kRingBytes);
        empty = full + kStages;
        out = base + kRingBytes + kBarrierBytes;
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

// The main accumulator's type: the wgmma's own (fp32 or exact int32) when it sums the whole K,
// fp32 when the partial sums are promoted into it.
template <typename Op, KSum kSum>
using AccOf = typename std::conditional<kSum == KSum::kWhole, typename Op::Acc, float>::type;

// KSum::kPromotedScaled's scales: this tile's rows of the [ceil(M/128), k_tiles] x scales and the
// [ceil(N/128), k_tiles] W scales (one stage = 128 of K = one scale tile); unused otherwise.
struct StageScales {
    const float* x;
    const float* w;
};

// Waits for the stage at pos and issues its kBlockKBytes / kStepBytes wgmmas for consumer wg's 64
// rows as one commit group into d. fresh: the first k-step overwrites d (scale-d 0).
template <typename Op>
__device__ __forceinline__ void mma_stage(const Ring& ring, const RingPos& pos, int wg, typename Op::Acc (&d)[kAccRegs], bool fresh) {
    mbar_wait(&ring.full[pos.stage], pos.phase);
    const uint32_t a = smem_u32(ring.a + pos.stage * kTileBytes + wg * kWgRows * kBlockKBytes);
    const uint32_t b = smem_u32(ring.b + pos.stage * kTileBytes);
    wgmma_fence();  // d's earlier register reads and writes (zeroing, the promotion) come first
#pragma unroll
    for (int s = 0; s < kBlockKBytes / kStepBytes; ++s)
        Op::m64n128(d, desc_k128b(a + s * kStepBytes), desc_k128b(b + s * kStepBytes), fresh && s == 0 ? 0 : 1);
    wgmma_commit();
}

// Consumer warpgroup wg (0 or 1): acc = its 64 rows of the tile, A[64 x K] B[128 x K]^T, over
// k_tiles stages from pos on, summed as kSum says. Op: Wgmma<operand type>.
template <typename Op, KSum kSum>
__device__ __forceinline__ void consume(const Ring& ring, RingPos& pos, int64_t k_tiles, int wg, AccOf<Op, kSum> (&acc)[kAccRegs], StageScales scales) {
    const bool releaser = (threadIdx.x & 31) == 0;
    if constexpr (kSum == KSum::kWhole) {
#pragma unroll
        for (int i = 0; i < kAccRegs; ++i) acc[i] = 0;
        fence_regs(acc);  // the zeros are written before wgmma.fence, which orders them before the wgmmas
        int prev = -1;
        for (int64_t kt = 0; kt < k_tiles; ++kt) {
            mma_stage<Op>(ring, pos, wg, acc, false);
            wgmma_wait<1>();  // tile kt - 1's wgmmas are done: its stage may be refilled
            fence_regs(acc);
            if (prev >= 0 && releaser) mbar_arrive(&ring.empty[prev]);
            prev = pos.stage;
            pos.advance();
        }
        wgmma_wait<0>();
        fence_regs(acc);
        if (prev >= 0 && releaser) mbar_arrive(&ring.empty[prev]);
    } else {
        // The wgmmas never touch acc (plain FADDs do), only the partial.
        typename Op::Acc part[kAccRegs];
#pragma unroll
        for (int i = 0; i < kAccRegs; ++i) acc[i] = 0.f, part[i] = 0;  // part: defined, though scale-d 0 ignores it
        fence_regs(part);
        for (int64_t kt = 0; kt < k_tiles; ++kt) {
            // The stage's scale, loaded before the wait so its latency hides behind the wgmmas.
            const float scale = kSum == KSum::kPromotedScaled ? scales.x[kt] * scales.w[kt] : 1.f;
            mma_stage<Op>(ring, pos, wg, part, true);
            wgmma_wait<0>();  // this stage's partial is complete (see the top of the file for why 0)
            fence_regs(part);
            if (releaser) mbar_arrive(&ring.empty[pos.stage]);  // read: the producer may refill it during the add
            pos.advance();
            if constexpr (kSum == KSum::kPromotedScaled) {
#pragma unroll
                for (int i = 0; i < kAccRegs; ++i) acc[i] += (float)part[i] * scale;
            } else {
#pragma unroll
                for (int i = 0; i < kAccRegs; ++i) acc[i] += part[i];
            }
        }
    }
}

}  // namespace zt::hopper::gemm90
