// gemm_sm90_epilogue.cuh: the epilogue of the sm_90a GEMMs, straight from the wgmma accumulator
// fragment to y. The math is gemm_common.cuh's Epilogue (per-token x per-channel scales, bias,
// GELU-tanh, the ZT_LINEAR_ROUND_* roundings), applied per element exactly as the mma.sync
// kernels do: equal accumulators give the same bits (see linear_sm90.cu on when they differ).
//
// Fragment of m64n128 (PTX ISA, wgmma D): warp w of the warpgroup holds rows 16w .. 16w + 15;
// acc[4j + r] is row 16w + lane / 4 + 8 (r >> 1), column 8j + 2 (lane % 4) + (r & 1). The two
// columns of a pair are adjacent: with `pairs` (n even, y 4-byte aligned) they are stored as one
// 32-bit access (f16/bf16) or one float2, else element by element; rows past m and columns past
// n are not stored (TMA zero-filled their inputs).
#pragma once

#include "gemm/gemm_common.cuh"
#include "hopper/gemm_sm90_policy.h"

namespace zt::hopper::gemm90 {

template <typename TOut>
__device__ __forceinline__ void store_pair(TOut* p, float v0, float v1) {
    if constexpr (std::is_same<TOut, float>::value) {
        *reinterpret_cast<float2*>(p) = make_float2(v0, v1);
    } else if constexpr (std::is_same<TOut, __half>::value) {
        *reinterpret_cast<__half2*>(p) = __floats2half2_rn(v0, v1);
    } else {
        *reinterpret_cast<__nv_bfloat162*>(p) = __floats2bfloat162_rn(v0, v1);
    }
}

// row0: the first row of this consumer warpgroup's 64 (global index), n0 the tile's first column.
template <typename TOut, typename Acc>
__device__ __forceinline__ void store_tile(const Acc (&acc)[kAccRegs], const zt::gemm::Epilogue& ep, TOut* __restrict__ y, int64_t m, int64_t n,
                                           int64_t row0, int64_t n0, bool pairs) {
    const int lane = threadIdx.x & 31, warp = (threadIdx.x >> 5) & 3;
    const int64_t r_base = row0 + warp * 16 + (lane >> 2);
    const int64_t c_base = n0 + 2 * (lane & 3);
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const int64_t row = r_base + 8 * h;
        if (row >= m) continue;
        TOut* out = y + row * n;
#pragma unroll
        for (int j = 0; j < kBlockN / 8; ++j) {
            const int64_t col = c_base + 8 * j;
            if (col >= n) continue;
            const float v0 = ep.template apply<TOut>(row, col, (float)acc[4 * j + 2 * h]);
            if (pairs) {  // n even: col + 1 < n too
                store_pair(out + col, v0, ep.template apply<TOut>(row, col + 1, (float)acc[4 * j + 2 * h + 1]));
            } else {
                out[col] = elem<TOut>::store(v0);
                if (col + 1 < n) out[col + 1] = elem<TOut>::store(ep.template apply<TOut>(row, col + 1, (float)acc[4 * j + 2 * h + 1]));
            }
        }
    }
}

}  // namespace zt::hopper::gemm90
