// linear_sm90.h: the sm_90a linears (linear_sm90.cu) as the sm_80 launchers see them. linear.cu,
// linear_int8.cu and linear_fp8.cu ask sm90_shape_ok() and current_device_is_sm90() and, when both
// hold, call the sm90 launcher instead of their mma.sync kernel; the launchers set zt_last_kernel().
#pragma once

#include <cuda_runtime.h>
#include <stdint.h>

#include "gemm/gemm_common.cuh"

namespace zt::hopper {

// Whether the calling thread's current device is compute capability 9.x (queried once per device).
bool current_device_is_sm90();

// What the TMA loads need: k > 0, every row of x and W starting 16-byte aligned (row stride
// k * elem_bytes a multiple of 16, base pointers 16-byte aligned), coordinates inside int32.
// m and n are otherwise free (zero fill and a predicated epilogue).
inline bool sm90_shape_ok(const void* x, const void* w, int64_t m, int64_t n, int64_t k, int elem_bytes) {
    constexpr int64_t kMaxCoord = (int64_t(1) << 31) - 256;
    return k > 0 && (k * elem_bytes) % 16 == 0 && (reinterpret_cast<uintptr_t>(x) & 15) == 0 && (reinterpret_cast<uintptr_t>(w) & 15) == 0 &&
           m < kMaxCoord && n < kMaxCoord && k < kMaxCoord;
}

// y [m, n] = ep(x [m, k] W [n, k]^T), f16 or bf16 operands and output (dtype), fp32 accumulators.
zt_status linear_sm90(cudaStream_t stream, zt_dtype dtype, int64_t m, int64_t n, int64_t k, const void* x, const void* w, const zt::gemm::Epilogue& ep,
                      void* y);

// W8A8, per-token x per-channel (ep.row_scale = x_scale [m], ep.col_scale = w_scale [n]): int8
// operands, exact int32 accumulators, output dtype f32/f16/bf16.
zt_status linear_int8_sm90(cudaStream_t stream, zt_dtype dtype, int64_t m, int64_t n, int64_t k, const void* x, const void* w, const zt::gemm::Epilogue& ep,
                           void* y);

// W8A8, 128 x 128 block scales (zt_linear_int8 scheme 1): sx [ceil(m / 128), ceil(k / 128)],
// sw [ceil(n / 128), ceil(k / 128)]; the exact int32 sum of every 128 of K is folded into fp32 with
// its two scales. ep carries no row scale (bias, GELU, roundings only). Output dtype f32/f16/bf16.
zt_status linear_int8_block_sm90(cudaStream_t stream, zt_dtype dtype, int64_t m, int64_t n, int64_t k, const void* x, const void* w, const zt::gemm::Epilogue& ep,
                                 const float* sx, const float* sw, void* y);

// FP8 W8A8 (zt_linear_fp8), the same scales as linear_int8_sm90: e4m3 operands, fp32 accumulators
// (the wgmma's partial sums promoted into full fp32 every 128 of K), output dtype f32/f16/bf16.
zt_status linear_fp8_sm90(cudaStream_t stream, zt_dtype dtype, int64_t m, int64_t n, int64_t k, const void* x, const void* w, const zt::gemm::Epilogue& ep,
                          void* y);

}  // namespace zt::hopper
