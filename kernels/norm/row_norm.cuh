// row_norm.cuh: the warp-per-row normalization engine behind rms_norm, layer_norm,
// adaln_modulate and gated_residual_adaln (the CUDA twin of src/Attention/Norm/RowNormEngine.cs).
//
// One warp per row, kRowsPerBlock rows per block. Each lane handles packs of kPer consecutive
// elements (16 bytes: 8 bf16/f16 or 4 f32; 4 elements for the modulation ops) strided by 32
// packs, so every warp load is one contiguous run; when the row length is not a multiple of the pack (or a pointer is unaligned) the
// engine runs with kPer = 1. Rows of up to kRowFloats * 32 elements (2048: Wan-1.3B's 1536;
// 512 with kPer = 1) are read once into registers, then mean, variance about the mean, and output come from
// there; longer rows stream (layer norm 3 passes, rms 2, re-read from L1/L2). Both orders of
// summation are the same (per lane in column order, then the butterfly), so both agree bit for
// bit. Sources and epilogues bind a row once (at(row): the frame's modulation pointers, say) and
// then work a pack at a time, loading their vectors 16 bytes at a time too.
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

// Packs of kPer elements: zt::load_vals / zt::store_vals (common/zt_common.cuh).

// Per-op rounding's R: an fp32 result rounded to T, as an eager PyTorch op writing T rounds it
// (identity for f32). A rounding between a product and a sum also keeps nvcc from contracting them.
template <typename T>
__device__ __forceinline__ float round_to(float v) { return elem<T>::load(elem<T>::store(v)); }

// kPer floats from p: 16-byte loads when kPer is a multiple of 4 (p then 16-byte aligned).
template <int kPer>
__device__ __forceinline__ void load_f32(const float* p, float (&v)[kPer]) {
    if constexpr (kPer % 4 == 0) {
#pragma unroll
        for (int k = 0; k < kPer; k += 4) {
            float4 q = *reinterpret_cast<const float4*>(p + k);
            v[k] = q.x, v[k + 1] = q.y, v[k + 2] = q.z, v[k + 3] = q.w;
        }
    } else {
#pragma unroll
        for (int k = 0; k < kPer; ++k) v[k] = p[k];
    }
}

// Floats a lane keeps of a row in the register path: 64 for packs (8 packs of bf16/f16, 16 of
// f32 or of the modulation ops' 4), 16 for single elements (odd widths: each element carries
// its own address, and 64 of them spill under the 4-blocks-per-SM register budget).
constexpr int kRowFloats = 64;
constexpr int kScalarRowFloats = 16;

// Source:   Row at(int64_t row); void load(const Row&, int col, float (&v)[kPer]); void emit(const Row&, col, const float (&v)[kPer]).
// Epilogue: Row at(int64_t row); void apply(const Row&, int col, float (&v)[kPer]) on the normalized pack, in place.
// kPacks > 0: the row in registers (dim <= 32 * kPer * kPacks); kPacks == 0: streamed. At most
// 128 registers (4 blocks of 4 warps per SM), enough warps in flight for a memory-bound kernel.
// zt:hot row_norm_kernel  (on the streaming path: every norm of every block (rms, layer, adaLN, gated residual + adaLN); a spill fails CI)
template <typename T, int kPer, int kPacks, bool kRms, typename Source, typename Epilogue>
__global__ void __launch_bounds__(32 * kRowsPerBlock, 4) row_norm_kernel(int64_t rows, int dim, float eps, Source src, Epilogue ep, T* __restrict__ y) {
    const int lane = threadIdx.x & 31;
    const int64_t row = (int64_t)blockIdx.x * kRowsPerBlock + (threadIdx.x >> 5);
    if (row >= rows) {
        return;
    }
    const auto sr = src.at(row);
    const auto er = ep.at(row);
    T* out = y + row * dim;
    if constexpr (kPacks > 0) {
        float v[kPacks][kPer];
        float s = 0.f;
#pragma unroll
        for (int p = 0; p < kPacks; ++p) {
            const int c = (p * 32 + lane) * kPer;
            if (c < dim) {
                src.template load<kPer>(sr, c, v[p]);
                src.template emit<kPer>(sr, c, v[p]);
#pragma unroll
                for (int k = 0; k < kPer; ++k) s += v[p][k];
            }
        }
        const float mean = kRms ? 0.f : warp_sum(s) / dim;
        float sq = 0.f;
#pragma unroll
        for (int p = 0; p < kPacks; ++p) {
            if ((p * 32 + lane) * kPer < dim) {
#pragma unroll
                for (int k = 0; k < kPer; ++k) {
                    float d = v[p][k] - mean;
                    sq += d * d;
                }
            }
        }
        const float rstd = 1.f / sqrtf(warp_sum(sq) / dim + eps);
#pragma unroll
        for (int p = 0; p < kPacks; ++p) {
            const int c = (p * 32 + lane) * kPer;
            if (c < dim) {
#pragma unroll
                for (int k = 0; k < kPer; ++k) v[p][k] = (v[p][k] - mean) * rstd;
                ep.template apply<kPer>(er, c, v[p]);
                store_vals<T, kPer>(out + c, v[p]);
            }
        }
    } else {
        const int step = 32 * kPer;
        float v[kPer];
        float mean = 0.f;
        if constexpr (!kRms) {
            float s = 0.f;
            for (int c = lane * kPer; c < dim; c += step) {
                src.template load<kPer>(sr, c, v);
#pragma unroll
                for (int k = 0; k < kPer; ++k) s += v[k];
            }
            mean = warp_sum(s) / dim;
        }
        float sq = 0.f;
        for (int c = lane * kPer; c < dim; c += step) {
            src.template load<kPer>(sr, c, v);
#pragma unroll
            for (int k = 0; k < kPer; ++k) {
                float d = v[k] - mean;
                sq += d * d;
            }
        }
        const float rstd = 1.f / sqrtf(warp_sum(sq) / dim + eps);
        for (int c = lane * kPer; c < dim; c += step) {
            src.template load<kPer>(sr, c, v);
            src.template emit<kPer>(sr, c, v);
#pragma unroll
            for (int k = 0; k < kPer; ++k) v[k] = (v[k] - mean) * rstd;
            ep.template apply<kPer>(er, c, v);
            store_vals<T, kPer>(out + c, v);
        }
    }
}

// A plain [rows, dim] input.
template <typename T>
struct RowSource {
    const T* x;
    int dim;
    struct Row {
        const T* x;
    };
    __device__ __forceinline__ Row at(int64_t row) const { return {x + row * dim}; }
    template <int kPer>
    __device__ __forceinline__ void load(const Row& r, int c, float (&v)[kPer]) const { load_vals<T, kPer>(r.x + c, v); }
    template <int kPer>
    __device__ __forceinline__ void emit(const Row&, int, const float (&)[kPer]) const {}
};

// y * weight + bias, each optional (null pointer), a pack of each at a time. per_op (rms_norm's
// rounding=per-op, WanRMSNorm's `_norm(x.float()).type_as(x) * weight`) rounds y to T first.
template <typename T>
struct AffineEpilogue {
    const T* weight;
    const T* bias;
    int per_op = 0;
    struct Row {};
    __device__ __forceinline__ Row at(int64_t) const { return {}; }
    template <int kPer>
    __device__ __forceinline__ void apply(const Row&, int c, float (&v)[kPer]) const {
        float w[kPer];
        if (per_op) {
#pragma unroll
            for (int k = 0; k < kPer; ++k) v[k] = round_to<T>(v[k]);
        }
        if (weight) {
            load_vals<T, kPer>(weight + c, w);
#pragma unroll
            for (int k = 0; k < kPer; ++k) v[k] *= w[k];
        }
        if (bias) {
            load_vals<T, kPer>(bias + c, w);
#pragma unroll
            for (int k = 0; k < kPer; ++k) v[k] += w[k];
        }
    }
};

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// The `rounding` argument of zt_norm.h: 0 fused, 1 per-op; `name` is the function's error message.
inline zt_status check_rounding(const char* name, int32_t rounding) {
    return rounding == 0 || rounding == 1 ? ZT_OK : fail(ZT_ERROR_INVALID_ARGUMENT, name);
}

// Launches the engine with the widest pack the row length and pointers allow (vector_ok: the
// caller's other pointers are 16-byte aligned), the row in registers when it fits. kMaxPer caps
// the pack: the modulation ops take 4 (8 bytes of bf16 per lane) so that their f32 vectors are
// one float4 per lane, a warp's request one contiguous 512 bytes, like the row's own.
template <typename T, bool kRms, int kMaxPer = 16 / sizeof(T), typename Source, typename Epilogue>
zt_status launch_row_norm(cudaStream_t stream, int64_t rows, int dim, float eps, const Source& src, const Epilogue& ep, T* y,
                          bool vector_ok, const char* name) {
    int64_t blocks = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
    if (blocks > 0x7FFFFFFF) {
        return fail(ZT_ERROR_INVALID_ARGUMENT, "row norm: too many rows for one launch");
    }
    constexpr int kVec = 16 / sizeof(T) < kMaxPer ? 16 / sizeof(T) : kMaxPer;
    const dim3 grid((unsigned)blocks), block(32 * kRowsPerBlock);
    if (vector_ok && dim % kVec == 0 && aligned16(y)) {
        if (dim <= 32 * kRowFloats) {
            row_norm_kernel<T, kVec, kRowFloats / kVec, kRms><<<grid, block, 0, stream>>>(rows, dim, eps, src, ep, y);
        } else {
            row_norm_kernel<T, kVec, 0, kRms><<<grid, block, 0, stream>>>(rows, dim, eps, src, ep, y);
        }
    } else if (dim <= 32 * kScalarRowFloats) {
        row_norm_kernel<T, 1, kScalarRowFloats, kRms><<<grid, block, 0, stream>>>(rows, dim, eps, src, ep, y);
    } else {
        row_norm_kernel<T, 1, 0, kRms><<<grid, block, 0, stream>>>(rows, dim, eps, src, ep, y);
    }
    return check_launch(name);
}

}  // namespace zt
