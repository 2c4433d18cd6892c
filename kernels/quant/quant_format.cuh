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

// The scale of element (r, c) for each granularity (0 row, 1 tensor, 2 tile).
__device__ __forceinline__ int64_t scale_index(int granularity, int64_t r, int64_t c, int64_t cols, int block_rows, int block_cols) {
    return granularity == 0 ? r : granularity == 1 ? 0 : (r / block_rows) * ((cols + block_cols - 1) / block_cols) + c / block_cols;
}

}  // namespace zt
