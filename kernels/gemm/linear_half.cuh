// linear_half.cuh: the half-precision tensor-core GEMM behind zt_linear (f16/bf16 operands)
// and zt_linear_fp8 (E4M3 operands widened to f16 while staging: exact, E4M3 is a subset of
// f16). 64 x 64 tiles per 128-thread block, two mma.sync.m16n8k16 steps per 32 of K, fp32
// accumulators, the fused epilogue of gemm_common.cuh.
#pragma once

#include "gemm/gemm_common.cuh"

namespace zt::gemm {

template <typename Stored>
struct HalfMma;
template <>
struct HalfMma<__half> {
    static __device__ __forceinline__ void run(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) { mma_f16(c, a, b); }
};
template <>
struct HalfMma<__nv_bfloat16> {
    static __device__ __forceinline__ void run(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) { mma_bf16(c, a, b); }
};

// zt:hot linear_half_kernel  (on the streaming path: the bf16/f16 and FP8 linears; a spill fails CI)
template <typename Src, typename Stored, typename Convert, typename TOut>
__global__ void __launch_bounds__(kThreads, kMinBlocksPerSm) linear_half_kernel(int64_t m, int64_t n, int64_t k, const Src* __restrict__ x, const Src* __restrict__ w,
                                                              Epilogue ep, Convert convert, TOut* __restrict__ y) {
    constexpr int kPitch = kBlockK + kPadBytes / (int)sizeof(Stored);
    __shared__ __align__(16) Stored xs[kBlockM * kPitch];
    __shared__ __align__(16) Stored ws[kBlockN * kPitch];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int wm = warp / kWarpsN, wn = warp % kWarpsN;
    const int64_t m0 = (int64_t)blockIdx.y * kBlockM, n0 = (int64_t)blockIdx.x * kBlockN;
    float acc[kTilesM][kTilesN][4] = {};
    for (int64_t k0 = 0; k0 < k; k0 += kBlockK) {
        stage_tile(xs, kPitch, x, m, k, m0, k0, convert);
        stage_tile(ws, kPitch, w, n, k, n0, k0, convert);
        __syncthreads();
#pragma unroll
        for (int s = 0; s < kBlockK; s += 16) {
            uint32_t af[kTilesM][4], bf[kTilesN][2];
#pragma unroll
            for (int mi = 0; mi < kTilesM; ++mi) {
                int r = wm * kWarpM + mi * kMmaM + g;
                af[mi][0] = word(xs, kPitch, r, s + 2 * t);
                af[mi][1] = word(xs, kPitch, r + 8, s + 2 * t);
                af[mi][2] = word(xs, kPitch, r, s + 8 + 2 * t);
                af[mi][3] = word(xs, kPitch, r + 8, s + 8 + 2 * t);
            }
#pragma unroll
            for (int ni = 0; ni < kTilesN; ++ni) {
                int r = wn * kWarpN + ni * kMmaN + g;
                bf[ni][0] = word(ws, kPitch, r, s + 2 * t);
                bf[ni][1] = word(ws, kPitch, r, s + 8 + 2 * t);
            }
#pragma unroll
            for (int mi = 0; mi < kTilesM; ++mi)
#pragma unroll
                for (int ni = 0; ni < kTilesN; ++ni) HalfMma<Stored>::run(acc[mi][ni], af[mi], bf[ni]);
        }
        __syncthreads();
    }
#pragma unroll
    for (int mi = 0; mi < kTilesM; ++mi)
#pragma unroll
        for (int ni = 0; ni < kTilesN; ++ni)
#pragma unroll
            for (int r = 0; r < 4; ++r) {
                int64_t row = m0 + wm * kWarpM + mi * kMmaM + g + (r >= 2 ? 8 : 0);
                int64_t col = n0 + wn * kWarpN + ni * kMmaN + 2 * t + (r & 1);
                if (row < m && col < n) y[row * n + col] = elem<TOut>::store(ep.apply(row, col, acc[mi][ni][r]));
            }
}

// fp32 operands: no tensor cores (TF32 would change the results); a shared-memory tiled SIMT GEMM.
template <typename TOut>
__global__ void linear_f32_kernel(int64_t m, int64_t n, int64_t k, const float* __restrict__ x, const float* __restrict__ w, Epilogue ep, TOut* __restrict__ y) {
    __shared__ float xs[16][17];
    __shared__ float ws[16][17];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int64_t row = (int64_t)blockIdx.y * 16 + ty, col = (int64_t)blockIdx.x * 16 + tx, wrow = (int64_t)blockIdx.x * 16 + ty;
    float acc = 0.f;
    for (int64_t k0 = 0; k0 < k; k0 += 16) {
        xs[ty][tx] = row < m && k0 + tx < k ? x[row * k + k0 + tx] : 0.f;
        ws[ty][tx] = wrow < n && k0 + tx < k ? w[wrow * k + k0 + tx] : 0.f;
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < 16; ++kk) acc += xs[ty][kk] * ws[tx][kk];
        __syncthreads();
    }
    if (row < m && col < n) y[row * n + col] = elem<TOut>::store(ep.apply(row, col, acc));
}

inline bool grid_fits(int64_t m) { return (m + kBlockM - 1) / kBlockM <= 65535; }

}  // namespace zt::gemm
