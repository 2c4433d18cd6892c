/* zoetrope.h: the exported C API of libzoetrope_native.so.
 *
 * ABI rules: every launch takes an explicit stream and raw device pointers, allocates nothing,
 * and returns a zt_status (0 = ok) instead of throwing; zt_last_error() gives the detail of the
 * last failure on the calling thread. Tensors are contiguous, row-major, little-endian.
 *
 * The C# bindings are generated from this file (Zoetrope.Generators.NativeBindingsGenerator).
 * Its grammar: `ZT_API <ret> zt_<name>(<params>);`, each preceded by a doc comment whose first
 * paragraph is the summary and in which every pointer parameter has a line
 *   @tensor <param> in|out|inout dtype(<zt_dtype param> | f32 | f16 | bf16 | i8 | u8 | i32 | fp8_e4m3 | fp8_e5m2) shape(<int params or literals>)
 *   [optional]     (an optional tensor may be NULL)
 * from which the wrapper checks device, dtype, shape and contiguity before the call.
 */
#ifndef ZOETROPE_H
#define ZOETROPE_H

#include <stdint.h>

#ifdef __cplusplus
#define ZT_EXTERN_C extern "C"
#else
#define ZT_EXTERN_C
#endif

#if defined(_WIN32)
#define ZT_API ZT_EXTERN_C __declspec(dllexport)
#else
#define ZT_API ZT_EXTERN_C __attribute__((visibility("default")))
#endif

/* A CUstream / cudaStream_t (the same handle); NULL is the legacy default stream. */
typedef void* zt_stream;

/* Element types: the values of Zoetrope.Runtime.DType. */
typedef int32_t zt_dtype;
enum {
    ZT_DTYPE_F32 = 0,
    ZT_DTYPE_F16 = 1,
    ZT_DTYPE_BF16 = 2,
    ZT_DTYPE_I8 = 3,
    ZT_DTYPE_U8 = 4,
    ZT_DTYPE_I32 = 5,
    ZT_DTYPE_F8E4M3 = 6,
    ZT_DTYPE_F8E5M2 = 7,
    ZT_DTYPE_F64 = 8
};

/* Status codes. */
typedef int32_t zt_status;
enum {
    ZT_OK = 0,
    ZT_ERROR_INVALID_ARGUMENT = 1,
    ZT_ERROR_UNSUPPORTED_DTYPE = 2,
    ZT_ERROR_UNSUPPORTED_ARCH = 3,
    ZT_ERROR_CUDA = 4
};

/** The shim's API version (bumped when a signature changes). */
ZT_API int32_t zt_version(void);

/** The name of a status code (ZT_OK, ZT_ERROR_CUDA...). */
ZT_API const char* zt_status_string(zt_status status);

/** The detail of the last failure on the calling thread (the CUDA error name and text), or "". */
ZT_API const char* zt_last_error(void);

/** The name of the kernel the calling thread's last linear or attention op launched (e.g.
 * "linear_sm90_ws_bf16", "linear_mma_sm80", "attention_sm90_bf16_d128") since the previous call of
 * this function, which clears it; "" when none did (an op that launched nothing, a zero extent,
 * or an op without a choice of kernels): which of an op's kernels the dispatch chose. */
ZT_API const char* zt_last_kernel(void);

/** out = a*x + b*y elementwise over n elements; f32/f16/bf16 storage, fp32 math.
 *
 * @tensor x in dtype(dtype) shape(n)
 * @tensor y in dtype(dtype) shape(n)
 * @tensor out out dtype(dtype) shape(n)
 */
ZT_API zt_status zt_axpby(zt_stream stream, zt_dtype dtype, int64_t n, float a, const void* x, float b, const void* y, void* out);

/** Row-wise softmax of a [rows, cols] tensor over its last dimension; f32/f16/bf16, fp32 math.
 *
 * @tensor x in dtype(dtype) shape(rows, cols)
 * @tensor y out dtype(dtype) shape(rows, cols)
 */
ZT_API zt_status zt_softmax_rows(zt_stream stream, zt_dtype dtype, int64_t rows, int64_t cols, const void* x, void* y);

#endif /* ZOETROPE_H */
