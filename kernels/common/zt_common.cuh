// zt_common.cuh: what every Zoetrope kernel file shares.
//
// - Element access: f32 / f16 / bf16 storage read as fp32 and written back with round-to-nearest-
//   even (the CUDA intrinsics __float2half_rn / __float2bfloat16_rn), the same rule as the C#
//   reference's ElementConvert and the ILGPU codecs.
// - Launch discipline: an exported zt_* function validates its arguments, launches on the
//   caller's stream, and returns a zt_status; a CUDA error is recorded (name and text) in a
//   thread-local buffer that zt_last_error() returns, never thrown across the C ABI.
#pragma once

#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <stdint.h>

#include "zoetrope.h"

namespace zt {

// Records a failure's detail for zt_last_error() and returns the status to hand back.
zt_status fail(zt_status status, const char* detail);

// Checks the launch that just happened; records the CUDA error if there is one.
zt_status check_launch(const char* kernel);

// Records which kernel an op launched, for zt_last_kernel() (a string literal: kept by pointer).
void note_kernel(const char* kernel);

// Raises a kernel's dynamic shared-memory limit (cudaFuncSetAttribute). A refusal is recorded and
// cleared from the runtime's last-error slot: left there, the next launch's check_launch, in
// whatever op comes next, would report it as that op's failure.
zt_status allow_dynamic_smem(const void* kernel, int bytes, const char* name);

template <typename K>
zt_status allow_dynamic_smem(K* kernel, int bytes, const char* name) {
    return allow_dynamic_smem(reinterpret_cast<const void*>(kernel), bytes, name);
}

inline cudaStream_t stream_of(zt_stream s) { return static_cast<cudaStream_t>(s); }

// fp32 view of each storage type.
template <typename T> struct elem;

template <> struct elem<float> {
    static __device__ __forceinline__ float load(float v) { return v; }
    static __device__ __forceinline__ float store(float v) { return v; }
};

template <> struct elem<__half> {
    static __device__ __forceinline__ float load(__half v) { return __half2float(v); }
    static __device__ __forceinline__ __half store(float v) { return __float2half_rn(v); }
};

template <> struct elem<__nv_bfloat16> {
    static __device__ __forceinline__ float load(__nv_bfloat16 v) { return __bfloat162float(v); }
    static __device__ __forceinline__ __nv_bfloat16 store(float v) { return __float2bfloat16_rn(v); }
};

// Packs: kPer consecutive elements of T moved by one load or store instruction (16 bytes at
// kPer = 16 / sizeof(T)), as fp32 values; the address must be aligned to the pack's size.
template <int kBytes> struct pack_raw;
template <> struct pack_raw<1> { using type = uint8_t; };
template <> struct pack_raw<2> { using type = unsigned short; };
template <> struct pack_raw<4> { using type = unsigned int; };
template <> struct pack_raw<8> { using type = uint2; };
template <> struct pack_raw<16> { using type = uint4; };

template <typename T, int kPer>
__device__ __forceinline__ void load_vals(const T* p, float (&v)[kPer]) {
    using Raw = typename pack_raw<kPer * sizeof(T)>::type;
    Raw raw = *reinterpret_cast<const Raw*>(p);
    const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
    for (int k = 0; k < kPer; ++k) v[k] = elem<T>::load(e[k]);
}

template <typename T, int kPer>
__device__ __forceinline__ void store_vals(T* p, const float (&v)[kPer]) {
    using Raw = typename pack_raw<kPer * sizeof(T)>::type;
    Raw raw;
    T* e = reinterpret_cast<T*>(&raw);
#pragma unroll
    for (int k = 0; k < kPer; ++k) e[k] = elem<T>::store(v[k]);
    *reinterpret_cast<Raw*>(p) = raw;
}

// Calls f.template operator()<T>() with the storage type of a float dtype; returns
// ZT_ERROR_UNSUPPORTED_DTYPE for the others. One switch over dtypes, shared by every op.
template <typename F>
zt_status dispatch_float(zt_dtype dtype, F&& f) {
    switch (dtype) {
        case ZT_DTYPE_F32: return f.template operator()<float>();
        case ZT_DTYPE_F16: return f.template operator()<__half>();
        case ZT_DTYPE_BF16: return f.template operator()<__nv_bfloat16>();
        default: return fail(ZT_ERROR_UNSUPPORTED_DTYPE, "dtype must be f32, f16 or bf16");
    }
}

}  // namespace zt
