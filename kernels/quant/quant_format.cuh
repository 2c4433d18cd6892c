// quant_format.cuh: the stored formats of the quantization kernels and the shared scale rule,
// written to match src/Runtime/KernelMath/QuantMath.cs and Fp8Math.cs bit for bit:
//   scale = max(amax / qmax, floor)                 __fdiv_rn: IEEE division even under fast math
//   int8  = clamp(__float2int_rn(v), -127, 127)     round half to even
//   e4m3  = __nv_cvt_float_to_fp8(v, satfinite)     nearest even, |v| >= 448 -> +-448, NaN -> 0x7F
#pragma once

#include <cuda_fp8.h>

#include "common/zt_common.cuh"

namespace zt {

__device__ __forceinline__ float quant_scale(float amax, float qmax, float floor) { return fmaxf(__fdiv_rn(amax, qmax), floor); }

struct Int8Format {
    using Code = int8_t;
    static __device__ __forceinline__ int8_t encode(float v) { return (int8_t)max(-127, min(127, __float2int_rn(v))); }
    static __device__ __forceinline__ float decode(int8_t q) { return (float)q; }
};

struct Fp8E4M3Format {
    using Code = uint8_t;
    static __device__ __forceinline__ uint8_t encode(float v) { return (uint8_t)__nv_cvt_float_to_fp8(v, __NV_SATFINITE, __NV_E4M3); }
    static __device__ __forceinline__ float decode(uint8_t q) {
        __half_raw h = __nv_cvt_fp8_to_halfraw((__nv_fp8_storage_t)q, __NV_E4M3);
        return __half2float(__half(h));
    }
};

// Calls f.template operator()<Format>() for a code dtype (int8 or fp8_e4m3).
template <typename F>
zt_status dispatch_format(zt_dtype format, F&& f) {
    switch (format) {
        case ZT_DTYPE_I8: return f.template operator()<Int8Format>();
        case ZT_DTYPE_F8E4M3: return f.template operator()<Fp8E4M3Format>();
        default: return fail(ZT_ERROR_UNSUPPORTED_DTYPE, "quantization format must be i8 or fp8_e4m3");
    }
}

// Packs of elements (pack_raw, load_vals, store_vals) are in common/zt_common.cuh. The vector
// paths here use kPer = 16 / sizeof(T), so a lane reads 16 bytes of x and writes kPer bytes of
// codes (8 for f16/bf16, 4 for f32); both are aligned together, since element i of x starts a
// 16-byte pack exactly when code i starts a kPer-byte one. kPer = 1 is the scalar fallback (odd
// widths, unaligned views).

// Codes of v / scale (IEEE division: the reference divides, and a reciprocal multiply can move a
// code by one), stored with one kPer-byte store.
template <typename F, int kPer>
__device__ __forceinline__ void store_codes(typename F::Code* p, const float (&v)[kPer], float scale) {
    using Raw = typename pack_raw<kPer>::type;
    Raw raw;
    typename F::Code* e = reinterpret_cast<typename F::Code*>(&raw);
#pragma unroll
    for (int k = 0; k < kPer; ++k) e[k] = F::encode(__fdiv_rn(v[k], scale));
    *reinterpret_cast<Raw*>(p) = raw;
}

template <typename F, int kPer>
__device__ __forceinline__ void load_codes(const typename F::Code* p, float (&v)[kPer]) {
    using Raw = typename pack_raw<kPer>::type;
    Raw raw = *reinterpret_cast<const Raw*>(p);
    const typename F::Code* e = reinterpret_cast<const typename F::Code*>(&raw);
#pragma unroll
    for (int k = 0; k < kPer; ++k) v[k] = F::decode(e[k]);
}

// (row, col) of a flat index walked with a fixed stride, advanced without a division: the
// stride's whole rows and leftover columns are found once, then each step is an add and a carry.
struct RowWalk {
    int r, c, dr, dc, width;
    __device__ __forceinline__ RowWalk(int start, int stride, int width_)
        : r(start / width_), c(start % width_), dr(stride / width_), dc(stride % width_), width(width_) {}
    __device__ __forceinline__ void next() {
        r += dr;
        c += dc;
        if (c >= width) {
            c -= width;
            ++r;
        }
    }
};

// The scale of element (r, c) for each granularity (0 row, 1 tensor, 2 tile).
__device__ __forceinline__ int64_t scale_index(int granularity, int64_t r, int64_t c, int64_t cols, int block_rows, int block_cols) {
    return granularity == 0 ? r : granularity == 1 ? 0 : (r / block_rows) * ((cols + block_cols - 1) / block_cols) + c / block_cols;
}

}  // namespace zt
