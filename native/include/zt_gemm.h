/* zt_gemm.h: the linear layers (kernels/gemm/). y = x W^T: x [m, k] row-major, W [n, k]
 * row-major (one row per output feature, PyTorch's layout), y [m, n]; fp32 accumulation (int32
 * for INT8, folded to fp32), epilogue fused: scales, bias (f32, optional), GELU-tanh (gelu = 1). */
#ifndef ZT_GEMM_H
#define ZT_GEMM_H

#include "zoetrope.h"

/* The linears' rounding flags (zt_linear, zt_linear_int8, zt_linear_fp8): extra roundings R to y's dtype inside the epilogue (identity for
 * f32), where an eager bf16 PyTorch model rounds at an op boundary the fused epilogue has not.
 * 0 is the fused epilogue: one rounding, at the store. */
enum {
    /* y = R(R(acc) + bias): the bias added as its own op (cuDNN's convolution then add_); no-op without a bias */
    ZT_LINEAR_ROUND_BEFORE_BIAS = 1,
    /* y = R(gelu(R(acc + bias))): nn.Linear then nn.GELU as two ops; no-op without GELU */
    ZT_LINEAR_ROUND_BEFORE_GELU = 2
};

/** Unquantized linear (tensor cores; f32 via SIMT): y = x W^T + bias, optional GELU-tanh; rounding:
 * ZT_LINEAR_ROUND_* flags (0: one rounding).
 *
 * @tensor x in dtype(dtype) shape(m, k)
 * @tensor weight in dtype(dtype) shape(n, k)
 * @tensor bias in dtype(f32) shape(n) optional
 * @tensor y out dtype(dtype) shape(m, n)
 */
ZT_API zt_status zt_linear(zt_stream stream, zt_dtype dtype, int64_t m, int64_t n, int64_t k, int32_t gelu, int32_t rounding, const void* x, const void* weight,
                           const void* bias, void* y);

/** W8A8 linear: int8 x int8 -> int32, dequantized in the epilogue. scheme 0: acc * x_scale[m] * w_scale[n]
 * (x_scales = m, w_scales = n); scheme 1: 128x128 tiles, the int32 sum of each 128-wide K tile times
 * x_scale[m/128][kt] * w_scale[n/128][kt] (x_scales = ceil(m/128)*ceil(k/128), w_scales = ceil(n/128)*ceil(k/128)).
 * rounding: as zt_linear's, acc being the scaled sum.
 *
 * @tensor x in dtype(i8) shape(m, k)
 * @tensor weight in dtype(i8) shape(n, k)
 * @tensor x_scale in dtype(f32) shape(x_scales)
 * @tensor w_scale in dtype(f32) shape(w_scales)
 * @tensor bias in dtype(f32) shape(n) optional
 * @tensor y out dtype(dtype) shape(m, n)
 */
ZT_API zt_status zt_linear_int8(zt_stream stream, zt_dtype dtype, int64_t m, int64_t n, int64_t k, int32_t scheme, int32_t gelu, int32_t rounding, int64_t x_scales,
                                int64_t w_scales, const void* x, const void* weight, const void* x_scale, const void* w_scale, const void* bias, void* y);

/** FP8 E4M3 linear: fp32 accumulation of x_q W_q^T, times x_scale[m] * w_scale[n], + bias, optional GELU-tanh; rounding: as zt_linear's.
 *
 * @tensor x in dtype(fp8_e4m3) shape(m, k)
 * @tensor weight in dtype(fp8_e4m3) shape(n, k)
 * @tensor x_scale in dtype(f32) shape(m)
 * @tensor w_scale in dtype(f32) shape(n)
 * @tensor bias in dtype(f32) shape(n) optional
 * @tensor y out dtype(dtype) shape(m, n)
 */
ZT_API zt_status zt_linear_fp8(zt_stream stream, zt_dtype dtype, int64_t m, int64_t n, int64_t k, int32_t gelu, int32_t rounding, const void* x, const void* weight,
                               const void* x_scale, const void* w_scale, const void* bias, void* y);

/* The CUTLASS variants (kernels/gemm/linear_cutlass.cu, built only with CUTLASS): same results,
 * faster where they apply; they return ZT_ERROR_INVALID_ARGUMENT when the shapes or alignment do
 * not suit them (K % 16 == 0 for int8, K % 8 == 0 for half, N % 8 == 0, 16-byte aligned). They
 * round once (no ZT_LINEAR_ROUND_* flags): a caller that needs the flags uses zt_linear. */

/** W8A8 linear through CUTLASS, per-token x per-channel scales, f16/bf16 output: act(x_scale[m] * (acc * w_scale[n]) + bias[n]).
 *
 * @tensor x in dtype(i8) shape(m, k)
 * @tensor weight in dtype(i8) shape(n, k)
 * @tensor x_scale in dtype(f32) shape(m)
 * @tensor w_scale in dtype(f32) shape(n)
 * @tensor bias in dtype(f32) shape(n) optional
 * @tensor y out dtype(dtype) shape(m, n)
 */
ZT_API zt_status zt_linear_int8_cutlass(zt_stream stream, zt_dtype dtype, int64_t m, int64_t n, int64_t k, int32_t gelu, const void* x, const void* weight,
                                        const void* x_scale, const void* w_scale, const void* bias, void* y);

/** Unquantized f16/bf16 linear through CUTLASS: act(acc + bias[n]).
 *
 * @tensor x in dtype(dtype) shape(m, k)
 * @tensor weight in dtype(dtype) shape(n, k)
 * @tensor bias in dtype(f32) shape(n) optional
 * @tensor y out dtype(dtype) shape(m, n)
 */
ZT_API zt_status zt_linear_cutlass(zt_stream stream, zt_dtype dtype, int64_t m, int64_t n, int64_t k, int32_t gelu, const void* x, const void* weight,
                                   const void* bias, void* y);

#endif /* ZT_GEMM_H */
