// row_norm.cuh: the warp-per-row normalization engine behind rms_norm, layer_norm,
// adaln_modulate and gated_residual_adaln (the CUDA twin of src/Attention/Norm/RowNormEngine.cs).
//
// One warp per row, kRowsPerBlock rows per block. Each lane handles packs of kPer consecutive
// elements (16 bytes: 8 bf16/f16 or 4 f32) strided by 32 packs, so every warp load moves 512
// bytes; when the row length is not a multiple of the pack (or a pointer is unaligned) the
// engine runs with kPer = 1. Passes: layer norm 3 (mean, variance about the mean, output),
// rms 2; rows are re-read from L1/L2, so DRAM sees one read and one write per element.
// fp32 math, fixed butterfly reduction order, one round-to-nearest-even store.
#pragma once

#include "common/zt_common.cuh"
#include "norm/norm_policy.h"

namespace zt {

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, o);
    }
    return v;
}

// Loads kPer consecutive elements of T as floats (one 16-byte load when kPer > 1).
template <typename T, int kPer>
__device__ __forceinline__ void load_pack(const T* p, float (&v)[kPer]) {
    if constexpr (kPer == 1) {
        v[0] = elem<T>::load(*p);
    } else {
        uint4 raw = *reinterpret_cast<const uint4*>(p);
        const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
        for (int k = 0; k < kPer; ++k) {
            v[k] = elem<T>::load(e[k]);
        }
    }
}

template <typename T, int kPer>
__device__ __forceinline__ void store_pack(T* p, const float (&v)[kPer]) {
    if constexpr (kPer == 1) {
        *p = elem<T>::store(v[0]);
    } else {
        uint4 raw;
        T* e = reinterpret_cast<T*>(&raw);
#pragma unroll
        for (int k = 0; k < kPer; ++k) {
            e[k] = elem<T>::store(v[k]);
        }
        *reinterpret_cast<uint4*>(p) = raw;
    }
}

// Source: void load(int64_t row, int col, float (&v)[kPer]) and void emit(row, col, const float (&v)[kPer]).
// Epilogue: float apply(int64_t row, int col, float normalized).
// zt:hot row_norm_kernel  (on the streaming path: every norm of every block (rms, layer, adaLN, gated residual + adaLN); a spill fails CI)
template <typename T, int kPer, bool kRms, typename Source, typename Epilogue>
__global__ void row_norm_kernel(int64_t rows, int dim, float eps, Source src, Epilogue ep, T* __restrict__ y) {
    const int lane = threadIdx.x & 31;
    const int64_t row = (int64_t)blockIdx.x * kRowsPerBlock + (threadIdx.x >> 5);
    if (row >= rows) {
        return;
    }
    const int step = 32 * kPer;
    float v[kPer];
    float mean = 0.f;
    if constexpr (!kRms) {
        float s = 0.f;
        for (int c = lane * kPer; c < dim; c += step) {
            src.template load<kPer>(row, c, v);
#pragma unroll
            for (int k = 0; k < kPer; ++k) s += v[k];
        }
        mean = warp_sum(s) / dim;
    }
    float sq = 0.f;
    for (int c = lane * kPer; c < dim; c += step) {
        src.template load<kPer>(row, c, v);
#pragma unroll
        for (int k = 0; k < kPer; ++k) {
            float d = v[k] - mean;
            sq += d * d;
        }
    }
    const float rstd = 1.f / sqrtf(warp_sum(sq) / dim + eps);
    T* out = y + row * dim;
    for (int c = lane * kPer; c < dim; c += step) {
        src.template load<kPer>(row, c, v);
        src.template emit<kPer>(row, c, v);
        float o[kPer];
#pragma unroll
        for (int k = 0; k < kPer; ++k) {
            o[k] = ep.apply(row, c + k, (v[k] - mean) * rstd);
        }
        store_pack<T, kPer>(out + c, o);
    }
}

// A plain [rows, dim] input.
template <typename T>
struct RowSource {
    const T* x;
    int dim;
    template <int kPer>
    __device__ __forceinline__ void load(int64_t row, int c, float (&v)[kPer]) const { load_pack<T, kPer>(x + row * dim + c, v); }
    template <int kPer>
    __device__ __forceinline__ void emit(int64_t, int, const float (&)[kPer]) const {}
};

// y * weight + bias, each optional (null pointer).
template <typename T>
struct AffineEpilogue {
    const T* weight;
    const T* bias;
    __device__ __forceinline__ float apply(int64_t, int c, float v) const {
        if (weight) v *= elem<T>::load(weight[c]);
        if (bias) v += elem<T>::load(bias[c]);
        return v;
    }
};

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// Launches the engine with the widest pack the row length and pointers allow.
template <typename T, bool kRms, typename Source, typename Epilogue>
zt_status launch_row_norm(cudaStream_t stream, int64_t rows, int dim, float eps, const Source& src, const Epilogue& ep, T* y,
                          bool vector_ok, const char* name) {
    int64_t blocks = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
    if (blocks > 0x7FFFFFFF) {
        return fail(ZT_ERROR_INVALID_ARGUMENT, "row norm: too many rows for one launch");
    }
    constexpr int kVec = 16 / sizeof(T);
    if (vector_ok && dim % kVec == 0 && aligned16(y)) {
        row_norm_kernel<T, kVec, kRms><<<(unsigned)blocks, 32 * kRowsPerBlock, 0, stream>>>(rows, dim, eps, src, ep, y);
    } else {
        row_norm_kernel<T, 1, kRms><<<(unsigned)blocks, 32 * kRowsPerBlock, 0, stream>>>(rows, dim, eps, src, ep, y);
    }
    return check_launch(name);
}

}  // namespace zt
