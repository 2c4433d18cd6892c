/* zt_norm.h: row normalizations of the DiT block (kernels/norm/). Rows are contiguous
 * [rows, dim]; fp32 math, one round-to-nearest-even store; f32/f16/bf16 storage. */
#ifndef ZT_NORM_H
#define ZT_NORM_H

#include "zoetrope.h"

/** RMSNorm: y = x * rsqrt(mean(x^2) + eps) * weight, over the last dimension.
 *
 * @tensor x in dtype(dtype) shape(rows, dim)
 * @tensor weight in dtype(dtype) shape(dim)
 * @tensor y out dtype(dtype) shape(rows, dim)
 */
ZT_API zt_status zt_rms_norm(zt_stream stream, zt_dtype dtype, int64_t rows, int32_t dim, float eps, const void* x, const void* weight, void* y);

/** LayerNorm: y = (x - mean) * rsqrt(var + eps) [* weight] [+ bias], biased variance about the mean.
 *
 * @tensor x in dtype(dtype) shape(rows, dim)
 * @tensor weight in dtype(dtype) shape(dim) optional
 * @tensor bias in dtype(dtype) shape(dim) optional
 * @tensor y out dtype(dtype) shape(rows, dim)
 */
ZT_API zt_status zt_layer_norm(zt_stream stream, zt_dtype dtype, int64_t rows, int32_t dim, float eps, const void* x, const void* weight, const void* bias, void* y);

#endif /* ZT_NORM_H */
