// linear_half.cuh: the 16-bit operand steps of the tensor-core GEMM (gemm_common.cuh) behind
// zt_linear (f16/bf16 operands, mma.sync.m16n8k16, fp32 accumulators), and the fp32 SIMT GEMM
// zt_linear uses for f32 operands.
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

// One 32-byte k-step (16 elements of K) of f16 or bf16 operands: one m16n8k16 per tile.
template <typename Stored>
struct HalfOp {
    static constexpr int kElemBytes = 2;
    using Acc = float;
    static constexpr bool kTwoLevel = false;
    static constexpr int kMinBlocks = kMinBlocksPerSm;
    static __device__ __forceinline__ void step(float (&acc)[kTilesM][kTilesN][4], const uint32_t (&a)[kTilesM][4], const uint32_t (&b)[kTilesN][2]) {
#pragma unroll
        for (int mi = 0; mi < kTilesM; ++mi)
#pragma unroll
            for (int ni = 0; ni < kTilesN; ++ni) HalfMma<Stored>::run(acc[mi][ni], a[mi], b[ni]);
    }
};

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
    if (row < m && col < n) y[row * n + col] = elem<TOut>::store(ep.template apply<TOut>(row, col, acc));
}

}  // namespace zt::gemm
