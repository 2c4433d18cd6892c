// flash_traits.cuh: the Traits of flash_kernel.cuh, shared by the dense and Sage kernels and
// their block-sparse forms (attention.cu, sage_attention.cu, block_sparse_attention.cu, sla.cu).
//   DenseTraits  f16/bf16 Q, K, V copied raw; scores * scale * log2(e)
//   SageTraits   INT8 Q, K with block scales; V as f16, or e4m3 codes from sage_v_quant (pv_mode 1)
#pragma once

#include <cuda_fp8.h>

#include "attention/flash_kernel.cuh"

namespace zt::flash {

template <typename T>
struct DenseTraits {
    using QK = T;
    using VS = T;
    using Out = T;
    static constexpr bool kInt8 = false;
    const T* q;
    const T* k;
    const T* v;
    T* o;
    float* lse;
    float scale_log2;

    template <int D>
    __device__ __forceinline__ void stage_v(char* smem, int pitch, const Problem& p, int b, int hkv, int64_t k0) const {
        stage_rows<T, D>(smem, pitch, v, p.kv, b, hkv, k0, kBlockN, p.kv_len);
    }
    __device__ __forceinline__ float score_factor(const Problem&, int, int, int, int64_t, int64_t) const { return scale_log2; }
    __device__ __forceinline__ float p_operand(float pe) const { return pe; }
    __device__ __forceinline__ float out_scale(const Problem&, int, int, int) const { return 1.f; }
    __device__ __forceinline__ float lse_shift(const Problem&, int, int, int, int64_t) const { return 0.f; }
};

constexpr float kFp8Max = 448.f;
constexpr float kVScaleFloor = 1e-8f;

// One thread per (b, hkv, channel): amax over the tokens, the scale, the e4m3 codes ([B, Hkv, Nkv, D]).
template <typename T>
__global__ void sage_v_quant(Problem p, const T* __restrict__ v, uint8_t* __restrict__ codes, float* __restrict__ scales) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (int64_t)p.batch * p.kv_heads * p.head_dim) return;
    int c = (int)(i % p.head_dim);
    int64_t bh = i / p.head_dim;
    int b = (int)(bh / p.kv_heads), hkv = (int)(bh % p.kv_heads);
    float amax = 0.f;
    for (int64_t j = 0; j < p.kv_len; ++j) amax = fmaxf(amax, fabsf(zt::elem<T>::load(v[p.kv.of(b, hkv, j) + c])));
    float scale = fmaxf(__fdiv_rn(amax, kFp8Max), kVScaleFloor);
    scales[i] = scale;
    for (int64_t j = 0; j < p.kv_len; ++j)
        codes[(bh * p.kv_len + j) * p.head_dim + c] =
            (uint8_t)__nv_cvt_float_to_fp8(__fdiv_rn(zt::elem<T>::load(v[p.kv.of(b, hkv, j) + c]), scale), __NV_SATFINITE, __NV_E4M3);
}

__device__ __forceinline__ float e4m3_round(float x) {
    __half_raw h = __nv_cvt_fp8_to_halfraw(__nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3), __NV_E4M3);
    return __half2float(__half(h));
}

template <typename T, int kPv>
struct SageTraits {
    using QK = int8_t;
    using VS = __half;
    using Out = T;
    static constexpr bool kInt8 = true;
    const int8_t* q;
    const int8_t* k;
    const float* q_scale;
    const float* k_scale;
    const T* v;
    const uint8_t* v_codes;
    const float* v_scale;
    const float* k_mean;
    T* o;
    float* lse;
    int q_rows, q_blocks, k_blocks;

    // V rows [k0, k0 + 64) as f16 in shared memory (converted, so plain loads and stores).
    template <int D>
    __device__ __forceinline__ void stage_v(char* smem, int pitch, const Problem& p, int b, int hkv, int64_t k0) const {
        for (int i = threadIdx.x; i < kBlockN * D; i += kThreads) {
            int r = i / D, c = i % D;
            int64_t key = k0 + r;
            float x = 0.f;
            if (key < p.kv_len) {
                if constexpr (kPv == 1) {
                    int64_t bh = (int64_t)b * p.kv_heads + hkv;
                    __half_raw hr = __nv_cvt_fp8_to_halfraw((__nv_fp8_storage_t)v_codes[(bh * p.kv_len + key) * D + c], __NV_E4M3);
                    x = __half2float(__half(hr));
                } else {
                    x = zt::elem<T>::load(v[p.kv.of(b, hkv, key) + c]);
                }
            }
            reinterpret_cast<__half*>(smem + r * pitch)[c] = __float2half_rn(x);
        }
    }
    __device__ __forceinline__ float score_factor(const Problem& p, int b, int h, int hkv, int64_t row0, int64_t k0) const {
        if (row0 >= p.q_len) return 0.f;  // a warp past the last query: its rows are masked anyway
        return q_scale[((int64_t)b * p.heads + h) * q_blocks + row0 / q_rows] * k_scale[((int64_t)b * p.kv_heads + hkv) * k_blocks + k0 / kBlockN];
    }
    __device__ __forceinline__ float p_operand(float pe) const { return kPv == 1 ? e4m3_round(pe * kFp8Max) : pe; }
    __device__ __forceinline__ float out_scale(const Problem& p, int b, int hkv, int col) const {
        return kPv == 1 ? v_scale[((int64_t)b * p.kv_heads + hkv) * p.head_dim + col] / kFp8Max : 1.f;
    }
    __device__ __forceinline__ float lse_shift(const Problem& p, int b, int h, int hkv, int64_t row) const {
        if (!k_mean) return 0.f;
        const int8_t* qr = q + p.q.of(b, h, row);
        const float* km = k_mean + ((int64_t)b * p.kv_heads + hkv) * p.head_dim;
        float dot = 0.f;
        for (int c = 0; c < p.head_dim; ++c) dot += (float)qr[c] * km[c];
        return dot * q_scale[((int64_t)b * p.heads + h) * q_blocks + row / q_rows] * 0.69314718056f;
    }
};

// The pv_mode 1 pre-pass: V's e4m3 codes [B, Hkv, Nkv, D] and per-channel scales.
template <typename T>
zt_status sage_prepass(const Problem& p, const T* v, uint8_t* codes, float* scales, cudaStream_t stream, const char* name) {
    int64_t n = (int64_t)p.batch * p.kv_heads * p.head_dim;
    sage_v_quant<T><<<(unsigned)((n + 255) / 256), 256, 0, stream>>>(p, v, codes, scales);
    return zt::check_launch(name);
}

}  // namespace zt::flash
