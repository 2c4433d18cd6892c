// gemm_sm90_scheduler.cuh: the persistent tile scheduler of the sm_90a GEMMs. The grid is
// min(tiles, SMs) CTAs; CTA b takes output tiles b, b + grid, b + 2 grid ... (static round
// robin). Tiles are numbered M-fastest, so CTAs running at the same time share the same few
// weight (B) tiles in L2 while they walk down the tokens.
#pragma once

#include <stdint.h>

#include "hopper/gemm_sm90_policy.h"

namespace zt::hopper::gemm90 {

struct TileScheduler {
    int64_t tiles_m;
    int64_t tiles;

    __host__ __device__ TileScheduler(int64_t m, int64_t n) : tiles_m((m + kBlockM - 1) / kBlockM), tiles(tiles_m * ((n + kBlockN - 1) / kBlockN)) {}

    __device__ int64_t first() const { return blockIdx.x; }
    __device__ int64_t next(int64_t t) const { return t + gridDim.x; }
    __device__ bool valid(int64_t t) const { return t < tiles; }
    __device__ int64_t m0(int64_t t) const { return (t % tiles_m) * kBlockM; }
    __device__ int64_t n0(int64_t t) const { return (t / tiles_m) * kBlockN; }

    static int64_t grid(int64_t tiles, int sms) { return tiles < sms ? tiles : sms; }
};

}  // namespace zt::hopper::gemm90
