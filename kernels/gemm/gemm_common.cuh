// gemm_common.cuh: what the hand-written GEMMs share: the fused epilogue and the staging of a
// 64 x 32 tile of a row-major [rows, k] operand into shared memory.
#pragma once

#include <cuda_fp8.h>

#include "common/zt_common.cuh"
#include "gemm/gemm_policy.h"
#include "gemm/mma_sm80.cuh"

namespace zt::gemm {

__device__ __forceinline__ float gelu_tanh(float x) {
    return 0.5f * x * (1.f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
}

// acc * row_scale[m] * col_scale[n] (when given) + bias[n] (when given), then GELU-tanh.
struct Epilogue {
    const float* row_scale;
    const float* col_scale;
    const float* bias;
    int gelu;

    __device__ __forceinline__ float apply(int64_t m, int64_t n, float acc) const {
        float v = row_scale ? acc * row_scale[m] * col_scale[n] : acc;
        if (bias) v += bias[n];
        return gelu ? gelu_tanh(v) : v;
    }
};

// Stages rows [row0, row0 + 64) x columns [k0, k0 + 32) of src [rows, k] into dst[64][kPitch]
// of Stored; out-of-range elements are zero. Convert maps a source element to Stored (the
// identity, or E4M3 -> half). 16-byte vector loads when the whole segment is inside and aligned.
template <typename Src, typename Stored, typename Convert>
__device__ __forceinline__ void stage_tile(Stored* dst, int pitch, const Src* src, int64_t rows, int64_t k, int64_t row0, int64_t k0, Convert convert) {
    constexpr int kPer = 16 / sizeof(Src);          // elements of one 16-byte chunk
    constexpr int kChunksPerRow = kBlockK / kPer;
    constexpr int kChunks = kBlockM * kChunksPerRow;
    for (int c = threadIdx.x; c < kChunks; c += kThreads) {
        int r = c / kChunksPerRow;
        int kc = (c % kChunksPerRow) * kPer;
        int64_t gr = row0 + r;
        int64_t gk = k0 + kc;
        Stored* out = dst + r * pitch + kc;
        const Src* in = src + gr * k + gk;
        if (gr < rows && gk + kPer <= k && (reinterpret_cast<uintptr_t>(in) & 15) == 0) {
            uint4 raw = *reinterpret_cast<const uint4*>(in);
            const Src* e = reinterpret_cast<const Src*>(&raw);
#pragma unroll
            for (int i = 0; i < kPer; ++i) out[i] = convert(e[i]);
        } else {
#pragma unroll
            for (int i = 0; i < kPer; ++i) out[i] = (gr < rows && gk + i < k) ? convert(in[i]) : convert(Src{});
        }
    }
}

struct Same {
    template <typename T>
    __device__ __forceinline__ T operator()(T v) const { return v; }
};

struct E4M3ToHalf {
    __device__ __forceinline__ __half operator()(uint8_t v) const {
        return __half(__nv_cvt_fp8_to_halfraw((__nv_fp8_storage_t)v, __NV_E4M3));
    }
};

// The 32-bit word at row r, byte offset b of a shared tile (fragment loads).
template <typename Stored>
__device__ __forceinline__ uint32_t word(const Stored* tile, int pitch, int r, int element) {
    return *reinterpret_cast<const uint32_t*>(tile + r * pitch + element);
}

}  // namespace zt::gemm
